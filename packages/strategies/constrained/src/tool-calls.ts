import type { ToolChoice } from './tool-call.js';
import { InvalidArgumentError } from '@decodekit/core';
import { byteSet, type GrammarElement } from './grammar-ir.js';
import {
  compileConstraint,
  constraintProcessor,
  type ConstraintOptions,
  type ConstraintProcessor,
} from './constraint-processor.js';
import {
  compileJsonSchema,
  unsupportedSchemaFeatures,
  type JsonSchema,
} from './json-schema-compiler.js';
import { checkTokenizer, jsonSchema } from './json-schema.js';

/** A tool the model may call: a name and a JSON Schema of its arguments (OpenAI's `function` tool). */
export interface ToolDefinition {
  /** The tool's name, as the call will spell it. Letters, digits, `_`, `-` and `.`, at most 64. */
  readonly name: string;
  /** What the tool does; shown to the model in the tool instruction. */
  readonly description?: string;
  /** JSON Schema of the arguments object (default: any object). */
  readonly parameters?: JsonSchema;
}

/**
 * Which answers are allowed: `auto` (text or a call of any tool), `required` (a call of any tool),
 * `none` (text only: no constraint), or `{ name }` (a call of that tool).
 */
/** Which answers are allowed: `auto` (text or a call), `required`/`any` (a call), `none` (text), or one named tool. */
export type { ToolChoice };

/** A tool call read back from generated text. */
export interface ParsedToolCall {
  readonly name: string;
  /** The arguments object, parsed. */
  readonly arguments: unknown;
  /** The arguments as compact JSON text, as generated (OpenAI's `function.arguments`). */
  readonly argumentsText: string;
}

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks tools and a tool choice where they are given (request validation, factories).
 * @throws InvalidArgumentError naming the tool or keyword at fault.
 */
export function validateTools(tools: readonly ToolDefinition[], choice: ToolChoice = 'auto'): void {
  if (!Array.isArray(tools))
    throw new InvalidArgumentError({
      argument: 'tools',
      message: 'must be an array of { name, parameters }.',
    });
  const seen = new Set<string>();
  tools.forEach((tool, index) => {
    if (!tool || typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) {
      throw new InvalidArgumentError({
        argument: `tools[${index}].name`,
        message: 'must be 1-64 letters, digits, "_", "-" or ".".',
      });
    }
    if (seen.has(tool.name))
      throw new InvalidArgumentError({
        argument: `tools[${index}].name`,
        message: `"${tool.name}" is declared twice.`,
      });
    seen.add(tool.name);
    const parameters = tool.parameters ?? { type: 'object' };
    const problems = unsupportedSchemaFeatures(normalizeJsonSchema(parameters));
    if (problems.length > 0) {
      throw new InvalidArgumentError({
        argument: `tools[${index}].parameters`,
        message: `the JSON constraint cannot enforce: ${problems.join('; ')}.`,
      });
    }
  });
  if (choice === 'auto' || choice === 'none') return;
  if (choice === 'required' || choice === 'any') {
    if (tools.length === 0)
      throw new InvalidArgumentError({
        argument: 'toolChoice',
        message: `"${choice}" needs at least one tool.`,
      });
    return;
  }
  if (typeof choice !== 'object' || choice === null || typeof choice.name !== 'string') {
    throw new InvalidArgumentError({
      argument: 'toolChoice',
      message: 'must be "auto", "none", "required" (or "any") or { name }.',
    });
  }
  if (!seen.has(choice.name)) {
    throw new InvalidArgumentError({
      argument: 'toolChoice',
      message: `names "${choice.name}", which is not among the tools (${[...seen].join(', ')}).`,
    });
  }
}

/**
 * The JSON Schema of one tool call: `{"name":<tool>,"arguments":<object valid under its parameters>}`,
 * a choice over the allowed tools. Each tool's parameters move under `$defs` with their local `$ref`s
 * rebased, so tools that use `$ref`/`$defs` keep working.
 */
export function toolCallSchema(
  tools: readonly ToolDefinition[],
  choice: ToolChoice = 'auto',
): JsonSchema {
  const allowed =
    typeof choice === 'object' ? tools.filter(tool => tool.name === choice.name) : tools;
  const definitions: Record<string, JsonSchema> = {};
  const branches = allowed.map((tool, index) => {
    const key = `tool${index}`;
    const {
      $schema: _dialect,
      $id: _id,
      ...parameters
    } = asObject(normalizeJsonSchema(tool.parameters ?? { type: 'object' }));
    definitions[key] = rebaseRefs(parameters, `#/$defs/${key}`);
    return {
      type: 'object',
      properties: { name: { const: tool.name }, arguments: { $ref: `#/$defs/${key}` } },
      required: ['name', 'arguments'],
    };
  });
  return { $defs: definitions, anyOf: branches };
}

/**
 * Constrains the answer to what the tool choice allows, exactly (a grammar, not "retry until it parses"):
 * a tool call is compact JSON `{"name":"get_weather","arguments":{...}}` with arguments valid under the
 * tool's schema; text is anything that does not start with `{`. Under `auto` the model picks by its first
 * token; under `required` or `{ name }` only a call is possible. Returns undefined for `none` or no tools
 * (nothing to constrain). Read the answer back with {@link parseToolCall}.
 *
 * @example
 * const processor = toolCalls({ tools: [{ name: 'add', parameters: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } }], choice: 'required' }, { tokenizer: model.tokenizer, maxTokens: 64 });
 * const { text } = await createDecoder({ model, processors: [processor!] }).generate(prompt, { maxTokens: 64 });
 * parseToolCall(text); // { name: 'add', arguments: { a: 7 }, argumentsText: '{"a":7}' }
 */
export function toolCalls(
  { tools, choice = 'auto' }: { tools: readonly ToolDefinition[]; choice?: ToolChoice },
  options: ConstraintOptions,
): ConstraintProcessor | undefined {
  checkTokenizer(options);
  validateTools(tools, choice);
  if (choice === 'none' || tools.length === 0) return undefined;
  const schema = toolCallSchema(tools, choice);
  const allowText = choice === 'auto';
  const key = `tool-calls:${allowText ? 'auto' : 'call'}:${JSON.stringify(schema)}`;
  const constraint = compileConstraint(
    options.tokenizer,
    key,
    () => {
      const { builder, root } = compileJsonSchema(schema, 'tools');
      if (!allowText) return { builder, root };
      const anyByte: GrammarElement = { kind: 'bytes', set: byteSet([0, 255]) };
      const firstTextByte: GrammarElement = {
        kind: 'bytes',
        set: byteSet([0, 0x7a], [0x7c, 0xff]),
      }; // anything but '{'
      const text = builder.rule('text', [
        [firstTextByte, ...builder.repeat('text-byte', anyByte, 0, Infinity)],
        [],
      ]);
      const answer = builder.rule('answer', [[{ kind: 'rule', rule: root }], [text]]);
      return { builder, root: (answer as { rule: number }).rule };
    },
    'tools',
  );
  return constraintProcessor('tool-calls', constraint, options);
}

/**
 * Reads a tool call from an answer generated under {@link toolCalls}: undefined when the answer is text
 * (does not start with `{`). With `tools`, the name must be one of them.
 * @throws InvalidArgumentError when the text starts like a call but is not one (e.g. cut by maxTokens).
 */
export function parseToolCall(
  text: string,
  tools?: readonly ToolDefinition[],
): ParsedToolCall | undefined {
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError({
      argument: 'text',
      message: `starts a tool call but is not complete JSON (${(cause as Error).message}); raise maxTokens.`,
    });
  }
  const call = value as { name?: unknown; arguments?: unknown };
  if (
    typeof call !== 'object' ||
    call === null ||
    typeof call.name !== 'string' ||
    !('arguments' in call)
  ) {
    throw new InvalidArgumentError({
      argument: 'text',
      message: 'is JSON but not a tool call { name, arguments }.',
    });
  }
  if (tools && !tools.some(tool => tool.name === call.name)) {
    throw new InvalidArgumentError({
      argument: 'text',
      message: `calls "${call.name}", which is not among the tools.`,
    });
  }
  // The grammar writes `name` first and nothing after `arguments`: the generated text of the arguments is
  // what streaming readers sent, so it is kept as generated rather than re-serialized.
  const prefix = CALL_PREFIX.exec(text);
  const argumentsText =
    prefix && text.endsWith('}')
      ? text.slice(prefix[0].length, -1)
      : JSON.stringify(call.arguments);
  return { name: call.name, arguments: call.arguments, argumentsText };
}

/** The start of a call as the grammar writes it, up to where the arguments begin. */
const CALL_PREFIX = /^\{"name":"([A-Za-z0-9_.-]{1,64})","arguments":/;

/** Reads a tool call while it is generated, for streaming APIs (OpenAI `tool_calls` deltas, AI SDK tool input). */
export interface ToolCallReader {
  /**
   * Feeds the next generated text of a call. Returns the tool's name once, as soon as it is complete, and
   * the argument text that is certain so far (the last character is held back: it may close the call).
   */
  push(text: string): { name?: string; argumentsDelta: string };
  /** The argument text not yet returned, once generation has ended (the call's closing brace dropped). */
  end(): string;
  /** The tool's name, once read. */
  readonly name: string | undefined;
}

/**
 * Streams a call generated under {@link toolCalls}: the deltas it returns concatenate to
 * `parseToolCall(text).argumentsText`.
 */
export function toolCallReader(): ToolCallReader {
  let text = '';
  let name: string | undefined;
  let start = -1; // where the arguments begin in `text`
  let sent = 0; // argument characters returned so far
  return {
    get name() {
      return name;
    },
    push(delta) {
      text += delta;
      let named: string | undefined;
      if (start < 0) {
        const match = CALL_PREFIX.exec(text);
        if (!match) return { argumentsDelta: '' };
        start = match[0].length;
        name = named = match[1];
      }
      const certain = text.length - 1 - start;
      const argumentsDelta = certain > sent ? text.slice(start + sent, start + certain) : '';
      sent = Math.max(sent, certain);
      return { name: named, argumentsDelta };
    },
    end() {
      if (start < 0) return '';
      const total = text.endsWith('}') ? text.length - 1 - start : text.length - start;
      const rest = total > sent ? text.slice(start + sent, start + total) : '';
      sent = Math.max(sent, total);
      return rest;
    },
  };
}

/**
 * The system-prompt text that tells the model about its tools and the call format the constraint
 * enforces. Models without a tools-aware chat template read it as an ordinary system message.
 */
export function toolInstruction(
  tools: readonly ToolDefinition[],
  choice: ToolChoice = 'auto',
): string {
  const list = tools
    .map(
      tool =>
        `- ${tool.name}${tool.description ? `: ${tool.description}` : ''} Arguments (JSON Schema): ${JSON.stringify(tool.parameters ?? { type: 'object' })}`,
    )
    .join('\n');
  const how =
    choice === 'auto'
      ? 'To call a tool, answer only with {"name":"<tool>","arguments":{...}}; otherwise answer in text.'
      : 'Answer only with {"name":"<tool>","arguments":{...}}.';
  return `You can call these tools:\n${list}\n${how}`;
}

/**
 * Drops keywords that constrain nothing in JSON but that the constraint compiler rejects: zod 4 writes
 * `propertyNames: { type: "string" }` for every `z.record(z.string(), ...)`, and object keys are always
 * strings. Returns a new schema; the input is not changed.
 */
export function normalizeJsonSchema(schema: JsonSchema): JsonSchema {
  return strip(schema, false) as JsonSchema;
}

/** Keywords whose value maps names to subschemas: their keys are names, never keywords. */
const NAME_MAPS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
]);

function strip(value: unknown, namesOnly: boolean): unknown {
  if (Array.isArray(value)) return value.map(item => strip(item, false));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (!namesOnly && key === 'propertyNames' && isNoOpPropertyNames(child)) continue;
    copy[key] = strip(child, !namesOnly && NAME_MAPS.has(key));
  }
  return copy;
}

function isNoOpPropertyNames(value: unknown): boolean {
  if (value === true) return true;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 0 || (keys.length === 1 && (value as { type?: unknown }).type === 'string')
  );
}

function asObject(schema: JsonSchema): Record<string, unknown> {
  if (schema === true) return {};
  if (schema === false) return { not: {} };
  return schema as Record<string, unknown>;
}

/** Rewrites local `$ref`s (`#...`) of a schema that will live at `base` inside another document. */
function rebaseRefs(value: JsonSchema, base: string): JsonSchema {
  const visit = (node: unknown, namesOnly: boolean): unknown => {
    if (Array.isArray(node)) return node.map(item => visit(item, false));
    if (typeof node !== 'object' || node === null) return node;
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      if (!namesOnly && key === '$ref' && typeof child === 'string' && child.startsWith('#'))
        copy[key] = base + child.slice(1);
      else if (
        !namesOnly &&
        (key === 'const' || key === 'enum' || key === 'default' || key === 'examples')
      )
        copy[key] = child;
      else copy[key] = visit(child, !namesOnly && NAME_MAPS.has(key));
    }
    return copy;
  };
  return visit(value, false) as JsonSchema;
}

/** What an answer must look like: JSON under a schema, or what a tool choice allows (see {@link outputConstraint}). */
export interface OutputFormat {
  /** Constrain the answer to compact JSON valid under this schema (OpenAI `response_format` json_schema). */
  readonly schema?: JsonSchema;
  /** Tools the answer may call (OpenAI `tools`, the AI SDK's function tools). */
  readonly tools?: readonly ToolDefinition[];
  /** Which answers the tools allow. Default `auto`. */
  readonly toolChoice?: ToolChoice;
}

/**
 * The one place where an output format becomes a constraint, shared by `@decodekit/server` and
 * `@decodekit/ai-sdk`: a JSON schema compiles to `jsonSchema`, tools to {@link toolCalls}; undefined when
 * nothing constrains the answer (no schema, and no tools or `toolChoice: "none"`). Pass the generation's
 * `maxTokens` in `options` so the structure closes within it.
 * @throws InvalidArgumentError for a schema the compiler cannot enforce, bad tools, or a schema together
 *   with active tools (the answer would have to be both).
 */
export function outputConstraint(
  format: OutputFormat,
  options: ConstraintOptions,
): ConstraintProcessor | undefined {
  const { schema, tools = [], toolChoice = 'auto' } = format;
  const toolsActive = tools.length > 0 && toolChoice !== 'none';
  if (schema !== undefined && toolsActive) {
    throw new InvalidArgumentError({
      argument: 'tools',
      message:
        'a JSON-schema response format and callable tools cannot apply to one answer; drop one, or set the tool choice to "none".',
    });
  }
  if (schema !== undefined) {
    const normalized = normalizeJsonSchema(schema);
    const problems = unsupportedSchemaFeatures(normalized);
    if (problems.length > 0) {
      throw new InvalidArgumentError({
        argument: 'schema',
        message: `the JSON constraint cannot enforce: ${problems.join('; ')}.`,
      });
    }
    return jsonSchema(normalized, options);
  }
  validateTools(tools, toolChoice);
  return toolsActive ? toolCalls({ tools, choice: toolChoice }, options) : undefined;
}
