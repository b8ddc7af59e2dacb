import { InvalidArgumentError, invariant } from '@decodekit/core';
import { GrammarBuilder, type GrammarElement } from './grammar-ir.js';
import {
  jsonCharacter,
  jsonInteger,
  jsonNumber,
  jsonString,
  jsonValue,
  type NumericBounds,
} from './json-grammar.js';
import { compileRegex } from './regex-compiler.js';

/** A JSON Schema document or subschema (draft-07 or 2020-12). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** Keywords that only annotate: accepted and ignored. */
export const ANNOTATION_KEYWORDS: readonly string[] = [
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$defs',
  'definitions',
];

/** Assertion keywords the compiler understands (with the restrictions documented in the README). */
export const SUPPORTED_KEYWORDS: readonly string[] = [
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'additionalItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
];

type JsonType = 'null' | 'boolean' | 'object' | 'array' | 'string' | 'number' | 'integer';
const ALL_TYPES: readonly JsonType[] = ['null', 'boolean', 'object', 'array', 'string', 'number'];
const annotations = new Set(ANNOTATION_KEYWORDS);
const supported = new Set(SUPPORTED_KEYWORDS);

/** What compiling a schema produced: the grammar, or the reasons it cannot be compiled. */
export interface SchemaCompilation {
  builder: GrammarBuilder;
  root: number;
}

/**
 * Compiles a JSON Schema into a byte grammar of compact JSON (no whitespace) whose every string validates
 * against the schema. The language is a subset of the valid instances: properties in declaration order,
 * no properties beyond `properties` (when declared), integer parts ≤ 15 digits, no exponents. Keywords it
 * cannot honour soundly are collected and reported together in one InvalidArgumentError.
 */
export function compileJsonSchema(schema: JsonSchema, argument = 'schema'): SchemaCompilation {
  const compiler = new SchemaCompiler(schema, argument);
  const root = compiler.compile(schema, '#', true);
  if (compiler.problems.size > 0) {
    throw new InvalidArgumentError({
      argument,
      message: `unsupported JSON Schema features: ${[...compiler.problems].sort().join(', ')}.`,
    });
  }
  const builder = compiler.builder;
  const rootElement = root.kind === 'rule' ? root : builder.rule('root', [[root]]);
  return { builder, root: (rootElement as { rule: number }).rule };
}

/** The keywords of a schema that the compiler rejects (empty when it compiles). For reports and the CLI. */
export function unsupportedSchemaFeatures(schema: JsonSchema): string[] {
  const compiler = new SchemaCompiler(schema, 'schema');
  try {
    compiler.compile(schema, '#', true);
  } catch (error) {
    if (!InvalidArgumentError.isInstance(error)) throw error;
    compiler.problems.add(error.message);
  }
  return [...compiler.problems].sort();
}

/**
 * Compiles a JSON Schema into rules of an existing grammar (to embed it in a bigger one, as tool calls do)
 * and returns the element that matches its compact JSON. `$ref`s resolve against `schema` itself.
 * @throws InvalidArgumentError listing every unsupported feature.
 */
export function compileJsonSchemaInto(
  builder: GrammarBuilder,
  schema: JsonSchema,
  argument: string,
): GrammarElement {
  const compiler = new SchemaCompiler(schema, argument, builder);
  const element = compiler.compile(schema, '#', true);
  if (compiler.problems.size > 0) {
    throw new InvalidArgumentError({
      argument,
      message: `unsupported JSON Schema features: ${[...compiler.problems].sort().join(', ')}.`,
    });
  }
  return element;
}

class SchemaCompiler {
  readonly problems = new Set<string>();
  private readonly memo = new Map<object, GrammarElement>();
  private readonly draft7: boolean;

  constructor(
    private readonly rootSchema: JsonSchema,
    private readonly argument: string,
    readonly builder: GrammarBuilder = new GrammarBuilder(),
  ) {
    const dialect =
      typeof rootSchema === 'object' && typeof rootSchema.$schema === 'string'
        ? rootSchema.$schema
        : '';
    this.draft7 = /draft-0[4-7]/.test(dialect);
    if (dialect && !/draft-0[67]|draft\/2020-12|draft\/2019-09/.test(dialect))
      this.problems.add(`$schema ${dialect}`);
  }

  compile(schema: JsonSchema, path: string, isRoot = false): GrammarElement {
    if (schema === true) return jsonValue(this.builder);
    if (schema === false) return this.builder.rule(`${path} (false)`, []);
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      this.problems.add(`a schema that is not an object or boolean at ${path}`);
      return this.builder.rule(path, []);
    }
    const existing = this.memo.get(schema);
    if (existing) return existing;
    const id = this.builder.declare(path);
    const element: GrammarElement = { kind: 'rule', rule: id };
    this.memo.set(schema, element);
    this.builder.rules[id].alternatives = this.alternatives(schema, path, isRoot);
    return element;
  }

  private problem(what: string): GrammarElement[][] {
    this.problems.add(what);
    return [];
  }

  private alternatives(
    schema: { readonly [keyword: string]: unknown },
    path: string,
    isRoot: boolean,
  ): GrammarElement[][] {
    const b = this.builder;
    const keys = Object.keys(schema);
    for (const key of keys)
      if (!annotations.has(key) && !supported.has(key)) this.problems.add(key);
    if ('$id' in schema && !isRoot) this.problems.add('$id (in a subschema)');
    const assertions = keys.filter(key => supported.has(key));

    if ('$ref' in schema) {
      const siblings = assertions.filter(key => key !== '$ref');
      if (siblings.length > 0 && !this.draft7) return this.problem('$ref with sibling keywords');
      const target = this.resolve(schema.$ref);
      if (target === undefined)
        return this.problem(`$ref ${String(schema.$ref)} (only local JSON pointers)`);
      return [[this.compile(target, String(schema.$ref))]];
    }

    const combinators = assertions.filter(
      key => key === 'anyOf' || key === 'oneOf' || key === 'allOf',
    );
    if (combinators.length > 0) {
      if (combinators.length > 1 || assertions.length > 1)
        return this.problem(`${combinators[0]} with sibling keywords`);
      const kind = combinators[0];
      const branches = schema[kind];
      if (!Array.isArray(branches) || branches.length === 0)
        return this.problem(`${kind} that is not a non-empty array`);
      if (kind === 'allOf') {
        const merged = this.mergeAllOf(branches as JsonSchema[]);
        if (merged === undefined)
          return this.problem('allOf with several subschemas that cannot be merged');
        return [[this.compile(merged, `${path}/allOf`)]];
      }
      if (kind === 'oneOf' && !this.pairwiseDisjoint(branches as JsonSchema[]))
        return this.problem('oneOf with possibly overlapping branches');
      return (branches as JsonSchema[]).map((branch, i) => [
        this.compile(branch, `${path}/${kind}/${i}`),
      ]);
    }

    const types = this.types(schema, path);
    if (types === undefined) return [];

    if ('enum' in schema || 'const' in schema) {
      const others = assertions.filter(key => key !== 'enum' && key !== 'const' && key !== 'type');
      if (others.length > 0)
        return this.problem('enum/const with sibling keywords other than type');
      let values: unknown[] | undefined;
      if ('enum' in schema) {
        if (!Array.isArray(schema.enum)) return this.problem('enum that is not an array');
        values = [...schema.enum];
      }
      if ('const' in schema) {
        const constant = JSON.stringify(schema.const);
        values = (values ?? [schema.const]).filter(value => JSON.stringify(value) === constant);
      }
      invariant(values !== undefined, 'enum or const set the allowed values');
      const texts = new Set(
        values
          .filter(
            value =>
              types.includes(jsonTypeOf(value)) ||
              (jsonTypeOf(value) === 'integer' && types.includes('number')),
          )
          .map(value => JSON.stringify(value)),
      );
      return [...texts].map(text => b.text(text));
    }

    const out: GrammarElement[][] = [];
    for (const type of types) {
      if (type === 'integer' && types.includes('number')) continue;
      out.push(...this.typed(type, schema, path));
    }
    return out;
  }

  /** The JSON types the schema admits (integer stands alone only when number is absent). */
  private types(
    schema: { readonly [keyword: string]: unknown },
    path: string,
  ): JsonType[] | undefined {
    if (!('type' in schema)) return [...ALL_TYPES];
    const raw = Array.isArray(schema.type) ? schema.type : [schema.type];
    const known = new Set(['null', 'boolean', 'object', 'array', 'string', 'number', 'integer']);
    if (!raw.every(t => typeof t === 'string' && known.has(t))) {
      this.problem(`type ${JSON.stringify(schema.type)} at ${path}`);
      return undefined;
    }
    return raw as JsonType[];
  }

  private typed(
    type: JsonType,
    schema: { readonly [keyword: string]: unknown },
    path: string,
  ): GrammarElement[][] {
    const b = this.builder;
    switch (type) {
      case 'null':
        return [b.text('null')];
      case 'boolean':
        return [b.text('true'), b.text('false')];
      case 'integer':
        return jsonInteger(b, this.bounds(schema, path));
      case 'number':
        return jsonNumber(b, this.bounds(schema, path));
      case 'string':
        return this.string(schema, path);
      case 'array':
        return this.array(schema, path);
      case 'object':
        return this.object(schema, path);
    }
  }

  private bounds(schema: { readonly [keyword: string]: unknown }, path: string): NumericBounds {
    const bounds: NumericBounds = {};
    for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const) {
      if (!(key in schema)) continue;
      const value = schema[key];
      if (typeof value !== 'number' || !Number.isFinite(value))
        this.problems.add(`${key} that is not a finite number at ${path}`);
      else bounds[key] = value;
    }
    return bounds;
  }

  private count(
    schema: { readonly [keyword: string]: unknown },
    key: string,
    path: string,
  ): number | undefined {
    if (!(key in schema)) return undefined;
    const value = schema[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.problems.add(`${key} that is not a non-negative integer at ${path}`);
      return undefined;
    }
    if (value > 10_000) {
      this.problems.add(`${key} above 10000`);
      return undefined;
    }
    return value;
  }

  private string(
    schema: { readonly [keyword: string]: unknown },
    path: string,
  ): GrammarElement[][] {
    const b = this.builder;
    const min = this.count(schema, 'minLength', path) ?? 0;
    const max = this.count(schema, 'maxLength', path) ?? Infinity;
    if (min > max) return [];
    if ('pattern' in schema) {
      if (typeof schema.pattern !== 'string')
        return this.problem(`pattern that is not a string at ${path}`);
      if ('minLength' in schema || 'maxLength' in schema)
        return this.problem('pattern with minLength/maxLength');
      try {
        const inner = compileRegex(b, schema.pattern, {
          match: 'search',
          character: ranges => jsonCharacter(b, ranges),
          argument: this.argument,
        });
        return [[...b.text('"'), ...inner, ...b.text('"')]];
      } catch (error) {
        if (!InvalidArgumentError.isInstance(error)) throw error;
        return this.problem(
          `pattern /${schema.pattern}/ (${error.message.replace(/^Invalid argument "[^"]*": /, '')})`,
        );
      }
    }
    return [jsonString(b, min, max)];
  }

  private array(schema: { readonly [keyword: string]: unknown }, path: string): GrammarElement[][] {
    const b = this.builder;
    const min = this.count(schema, 'minItems', path) ?? 0;
    const max = this.count(schema, 'maxItems', path) ?? Infinity;
    if (min > max) return [];
    if (schema.uniqueItems === true && max > 1)
      return this.problem('uniqueItems (with maxItems > 1)');
    const items = 'items' in schema ? schema.items : true;
    if (Array.isArray(items)) return this.problem('items (array form)');
    if (items === false || max === 0) return min === 0 ? [b.text('[]')] : [];
    const item = this.compile(items as JsonSchema, `${path}/items`);
    const tail = b.rule(`${path}/items-tail`, [[...b.text(','), item]]);
    const list = [item, ...b.repeat(`${path}/items`, tail, Math.max(0, min - 1), max - 1)];
    const body = min === 0 ? [b.choice(`${path}/items?`, [list, []])] : list;
    return [[...b.text('['), ...body, ...b.text(']')]];
  }

  private object(
    schema: { readonly [keyword: string]: unknown },
    path: string,
  ): GrammarElement[][] {
    const b = this.builder;
    const properties = schema.properties ?? {};
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
      return this.problem(`properties that is not an object at ${path}`);
    const required = schema.required ?? [];
    if (!Array.isArray(required) || !required.every(name => typeof name === 'string'))
      return this.problem(`required that is not an array of strings at ${path}`);
    const additional =
      'additionalProperties' in schema ? (schema.additionalProperties as JsonSchema) : true;
    const declared = Object.keys(properties);
    if (declared.length === 0 && required.length === 0) {
      // Free-form object: members follow additionalProperties (any JSON when absent).
      if (additional === false) return [b.text('{}')];
      const member = b.rule(`${path}/member`, [
        [
          ...jsonString(b),
          ...b.text(':'),
          this.compile(additional, `${path}/additionalProperties`),
        ],
      ]);
      const tail = b.rule(`${path}/member-tail`, [[...b.text(','), member]]);
      return [
        [
          ...b.text('{'),
          b.choice(`${path}/members`, [
            [member, ...b.repeat(`${path}/members`, tail, 0, Infinity)],
            [],
          ]),
          ...b.text('}'),
        ],
      ];
    }
    // Declared properties in order, then required names that are not declared (valued by additionalProperties).
    const entries: { name: string; schema: JsonSchema; required: boolean }[] = declared.map(
      name => ({
        name,
        schema: (properties as Record<string, JsonSchema>)[name],
        required: (required as string[]).includes(name),
      }),
    );
    for (const name of new Set(required as string[])) {
      if (!declared.includes(name)) {
        if (additional === false) return [];
        entries.push({ name, schema: additional, required: true });
      }
    }
    // rest(i, first): members i.. where `first` = nothing written yet (so no leading comma).
    const memo = new Map<string, GrammarElement[]>();
    const rest = (i: number, first: boolean): GrammarElement[] => {
      if (i === entries.length) return [];
      const key = `${i}:${first}`;
      const cached = memo.get(key);
      if (cached) return cached;
      const entry = entries[i];
      const member = [
        ...(first ? [] : b.text(',')),
        ...b.text(JSON.stringify(entry.name)),
        ...b.text(':'),
        this.compile(entry.schema, `${path}/properties/${entry.name}`),
      ];
      const present = [...member, ...rest(i + 1, false)];
      const result = entry.required
        ? [b.group(`${path}/${key}`, present)]
        : [b.choice(`${path}/${key}`, [present, rest(i + 1, first)])];
      memo.set(key, result);
      return result;
    };
    return [[...b.text('{'), ...rest(0, true), ...b.text('}')]];
  }

  private resolve(ref: unknown): JsonSchema | undefined {
    if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
    if (ref === '#') return this.rootSchema;
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = this.rootSchema;
    for (const raw of ref.slice(2).split('/')) {
      const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null || !(token in node)) return undefined;
      node = (node as Record<string, unknown>)[token];
    }
    return typeof node === 'boolean' ||
      (typeof node === 'object' && node !== null && !Array.isArray(node))
      ? (node as JsonSchema)
      : undefined;
  }

  /**
   * allOf [A, B, ...] as one schema when the conjunction is a plain union of keywords: `true` branches
   * dropped; otherwise every keyword appears in one branch only, except `required` (merged) and
   * `properties` (merged when names are disjoint); no additionalProperties (its meaning depends on the
   * branch's own properties).
   */
  private mergeAllOf(branches: JsonSchema[]): JsonSchema | undefined {
    const kept = branches.filter(branch => branch !== true);
    if (kept.length === 0) return true;
    if (kept.some(branch => branch === false)) return false;
    if (kept.length === 1) return kept[0];
    const merged: Record<string, unknown> = {};
    for (const branch of kept as Record<string, unknown>[]) {
      for (const [key, value] of Object.entries(branch)) {
        if (annotations.has(key)) continue;
        if (key === 'additionalProperties' || key === '$ref' || key === 'allOf') return undefined;
        if (key === 'required' && Array.isArray(value)) {
          merged.required = [
            ...new Set([...((merged.required as string[]) ?? []), ...(value as string[])]),
          ];
        } else if (key === 'properties' && typeof value === 'object' && value !== null) {
          const existing = (merged.properties as Record<string, unknown>) ?? {};
          if (Object.keys(value).some(name => name in existing)) return undefined;
          merged.properties = { ...existing, ...value };
        } else if (key in merged) {
          if (JSON.stringify(merged[key]) !== JSON.stringify(value)) return undefined;
        } else merged[key] = value;
      }
    }
    return merged;
  }

  /** Branches that no instance can match twice: their type sets (or const/enum values) are disjoint. */
  private pairwiseDisjoint(branches: JsonSchema[]): boolean {
    const signatures = branches.map(branch => this.signature(branch, new Set()));
    for (let i = 0; i < signatures.length; i++) {
      for (let j = i + 1; j < signatures.length; j++) {
        const a = signatures[i];
        const c = signatures[j];
        if (a === undefined || c === undefined) return false;
        if (a.values && c.values) {
          const others = c.values;
          if (a.values.some(value => others.includes(value))) return false;
          continue;
        }
        const overlap = [...a.types].some(
          type =>
            c.types.has(type) ||
            (type === 'integer' && c.types.has('number')) ||
            (type === 'number' && c.types.has('integer')),
        );
        if (overlap) return false;
      }
    }
    return true;
  }

  private signature(
    schema: JsonSchema,
    seen: Set<unknown>,
  ): { types: Set<string>; values?: string[] } | undefined {
    if (schema === false) return { types: new Set(), values: [] };
    if (schema === true || seen.has(schema)) return undefined;
    seen.add(schema);
    if (typeof schema.$ref === 'string') {
      const target = this.resolve(schema.$ref);
      return target === undefined ? undefined : this.signature(target, seen);
    }
    const values = Array.isArray(schema.enum)
      ? schema.enum
      : 'const' in schema
        ? [schema.const]
        : undefined;
    if (values)
      return {
        types: new Set(values.map(jsonTypeOf)),
        values: values.map(value => JSON.stringify(value)),
      };
    if (schema.type === undefined) return undefined;
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    return { types: new Set(types as string[]) };
  }
}

function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}
