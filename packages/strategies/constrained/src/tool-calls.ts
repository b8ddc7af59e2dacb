// Tool calling under a grammar, one module for @decodekit/langchain, @decodekit/ai-sdk and @decodekit/server:
// which tools exist (validateTools), how a call is written (ToolCallFormat), the constraint
// (toolCallConstraint, outputConstraint), reading calls back whole (parseToolCalls) or while they stream
// (toolCallStream), writing earlier calls into a history (formatToolCalls) and the prompt (toolPrompt).
import { InvalidArgumentError, invariant, type ChatMessage } from '@decodekit/core';
import {
  compileConstraint,
  constraintProcessor,
  type ConstraintOptions,
  type ConstraintProcessor,
} from './constraint-processor.js';
import { byteSet, GrammarBuilder, type GrammarElement } from './grammar-ir.js';
import {
  compileJsonSchemaInto,
  unsupportedSchemaFeatures,
  type JsonSchema,
} from './json-schema-compiler.js';
import { checkTokenizer, jsonSchema } from './json-schema.js';

/** A tool the model may call: its name, what it does, and a JSON Schema of its arguments (OpenAI's `function` tool). */
export interface ToolDefinition {
  /** The tool's name, as a call spells it: 1-64 letters, digits, `_`, `-` or `.` (OpenAI's rule, plus `.`). */
  readonly name: string;
  /** What the tool does; shown to the model in {@link toolPrompt}. */
  readonly description?: string;
  /** JSON Schema of the arguments object (the subset `jsonSchema` supports). Default: any object. */
  readonly parameters?: JsonSchema;
}

/**
 * Which answers are allowed: `auto` text or a call, `required` (alias `any`) a call of any tool, `none`
 * text only, `{ name }` a call of that tool.
 */
export type ToolChoice = 'auto' | 'required' | 'any' | 'none' | { readonly name: string };

/**
 * How a tool call is written: `prefix {"name":"<tool>","<argumentsKey>":<arguments>} suffix`, calls of one
 * answer joined by `separator`. A text answer never begins with the prefix (with an empty prefix: never
 * with `{`), so the first bytes of an answer tell a call from text.
 */
export interface ToolCallFormat {
  /** Opens a call, e.g. `<tool_call>\n`; may be empty (then a call is the bare JSON object). */
  readonly prefix: string;
  /** Closes a call, e.g. `\n</tool_call>`. */
  readonly suffix: string;
  /** Between two calls of one answer (parallel calls). */
  readonly separator: string;
  /** Key of the arguments object next to `"name"`, e.g. `arguments` (Llama 3 writes `parameters`). */
  readonly argumentsKey: string;
}

/** The default {@link ToolCallFormat}, Hermes / Qwen 2.5's: `<tool_call>\n{"name":"f","arguments":{...}}\n</tool_call>`. */
export const DEFAULT_TOOL_CALL_FORMAT: ToolCallFormat = {
  prefix: '<tool_call>\n',
  suffix: '\n</tool_call>',
  separator: '\n',
  argumentsKey: 'arguments',
};

/** Bare JSON calls, `{"name":"f","arguments":{...}}`, one per line; a text answer never begins with `{`. */
export const JSON_TOOL_CALL_FORMAT: ToolCallFormat = {
  prefix: '',
  suffix: '',
  separator: '\n',
  argumentsKey: 'arguments',
};

/** Options of {@link toolCallConstraint}. */
export interface ToolCallConstraintOptions extends ConstraintOptions {
  /** Default `auto`. */
  toolChoice?: ToolChoice;
  /** Allow several calls in one answer (joined by `format.separator`). Default false: one call. */
  parallel?: boolean;
  /** How calls are written; unset fields take {@link DEFAULT_TOOL_CALL_FORMAT}'s. */
  format?: Partial<ToolCallFormat>;
}

/** One call read back from an answer. */
export interface ParsedToolCall {
  readonly name: string;
  /** The arguments object, parsed. */
  readonly arguments: Record<string, unknown>;
  /** The arguments as generated (compact JSON under the constraint): OpenAI's `function.arguments`. */
  readonly argumentsText: string;
}

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks tools and a tool choice where they are given (request validation, `bindTools`, factories): names
 * (1-64 of `A-Za-z0-9_.-`, unique), argument schemas the JSON constraint can enforce, and a choice the
 * tools can meet.
 * @throws InvalidArgumentError naming `tools[i].name`, `tools[i].parameters` or `toolChoice`.
 */
export function validateTools(tools: readonly ToolDefinition[], choice: ToolChoice = 'auto'): void {
  if (!Array.isArray(tools))
    throw new InvalidArgumentError({
      argument: 'tools',
      message: 'must be an array of { name, description?, parameters? }.',
    });
  const names = new Set<string>();
  tools.forEach((tool, index) => {
    if (!tool || typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) {
      throw new InvalidArgumentError({
        argument: `tools[${index}].name`,
        message: `must be 1-64 letters, digits, "_", "-" or ".", got ${JSON.stringify(tool?.name)}.`,
      });
    }
    if (names.has(tool.name))
      throw new InvalidArgumentError({
        argument: `tools[${index}].name`,
        message: `repeats the name "${tool.name}"; tool names must be unique.`,
      });
    names.add(tool.name);
    const problems = unsupportedSchemaFeatures(
      normalizeJsonSchema(tool.parameters ?? { type: 'object' }),
    );
    if (problems.length > 0) {
      throw new InvalidArgumentError({
        argument: `tools[${index}].parameters`,
        message: `"${tool.name}" has arguments the JSON constraint cannot enforce: ${problems.join('; ')}.`,
      });
    }
  });
  const normalized = normalizeChoice(choice);
  if (normalized === 'required' && tools.length === 0)
    throw new InvalidArgumentError({
      argument: 'toolChoice',
      message: `"${String(choice)}" needs at least one tool; pass tools or choose "none".`,
    });
  if (typeof normalized === 'object' && !names.has(normalized.name)) {
    throw new InvalidArgumentError({
      argument: 'toolChoice',
      message: `names "${normalized.name}", which is not one of the tools (${[...names].join(', ') || 'none'}).`,
    });
  }
}

/**
 * Constrains an answer to what `toolChoice` allows, exactly (a grammar, not "retry until it parses"):
 * free text that does not begin a call, or a call of one of `tools` whose arguments are compact JSON valid
 * under the tool's schema, written in `format`. Under `auto` the model picks by its first tokens; under
 * `required` or `{ name }` only a call is possible; under `none` only text. With `maxTokens`, a call is
 * only begun when it can be closed within the budget. Read the answer back with {@link parseToolCalls}.
 *
 * @example
 * const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 } }, required: ['city'] } };
 * const decoder = createDecoder({ model }).use(toolCallConstraint([weather], { tokenizer: model.tokenizer, toolChoice: 'required', maxTokens: 64 }));
 * const { calls } = parseToolCalls((await decoder.generate(prompt, { maxTokens: 64 })).text);
 */
export function toolCallConstraint(
  tools: readonly ToolDefinition[],
  options: ToolCallConstraintOptions,
): ConstraintProcessor {
  checkTokenizer(options);
  const format = resolveFormat(options.format);
  const choice = normalizeChoice(options.toolChoice ?? 'auto');
  const parallel = options.parallel ?? false;
  validateTools(tools, choice);
  const callable = choice === 'none' ? [] : toolsAllowedBy(tools, choice);
  const key = `tool-calls:${JSON.stringify({ tools: callable.map(({ name, parameters }) => ({ name, parameters })), choice, parallel, format })}`;
  const constraint = compileConstraint(
    options.tokenizer,
    key,
    () => buildGrammar(callable, choice, parallel, format),
    'tools',
  );
  return constraintProcessor('tool-calls', constraint, options);
}

/** What an answer must look like: JSON under a schema, or what a tool choice allows (see {@link outputConstraint}). */
export interface OutputFormat {
  /** Constrain the answer to compact JSON valid under this schema (OpenAI `response_format` json_schema). */
  readonly schema?: JsonSchema;
  /** Tools the answer may call (OpenAI `tools`, the AI SDK's function tools, LangChain's `bindTools`). */
  readonly tools?: readonly ToolDefinition[];
  /** Which answers the tools allow. Default `auto`. */
  readonly toolChoice?: ToolChoice;
  /** Several calls in one answer. Default false. */
  readonly parallel?: boolean;
  /** How calls are written. Default {@link DEFAULT_TOOL_CALL_FORMAT}. */
  readonly callFormat?: Partial<ToolCallFormat>;
}

/**
 * The one place where an output format becomes a constraint: a JSON schema compiles to `jsonSchema`, tools
 * to {@link toolCallConstraint}; undefined when nothing constrains the answer (no schema, and no tools or
 * `toolChoice: "none"`). Pass the generation's `maxTokens` in `options` so the structure closes within it.
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
  if (!toolsActive) return undefined;
  return toolCallConstraint(tools, {
    ...options,
    toolChoice,
    parallel: format.parallel,
    format: format.callFormat,
  });
}

/**
 * Reads an answer written under {@link toolCallConstraint}: `{ text, calls: [] }` for a text answer, or
 * `{ text: '', calls }` for one or more calls.
 * @throws InvalidArgumentError when the answer begins a call that is not complete (e.g. cut by an abort).
 */
export function parseToolCalls(
  answer: string,
  options: { format?: Partial<ToolCallFormat> } = {},
): { text: string; calls: ParsedToolCall[] } {
  const format = resolveFormat(options.format);
  const marker = callMarker(format);
  if (!answer.startsWith(marker)) return { text: answer, calls: [] };
  const calls: ParsedToolCall[] = [];
  let rest = answer;
  for (;;) {
    rest = rest.slice(format.prefix.length);
    const end = jsonObjectEnd(rest);
    const objectText = end < 0 ? '' : rest.slice(0, end);
    const value = end < 0 ? undefined : parseObject(objectText);
    const name = value?.name;
    const args = value?.[format.argumentsKey];
    if (
      typeof name !== 'string' ||
      typeof args !== 'object' ||
      args === null ||
      Array.isArray(args) ||
      !rest.startsWith(format.suffix, end)
    ) {
      throw new InvalidArgumentError({
        argument: 'answer',
        message: `is not a complete tool call (${format.prefix.trim()}{"name":...,"${format.argumentsKey}":{...}}${format.suffix.trim()}); if it was cut, raise maxTokens: ${JSON.stringify(answer.slice(0, 200))}.`,
      });
    }
    // The grammar writes the name first and nothing after the arguments: keep their text as generated
    // (what streaming readers sent), rather than re-serialized.
    const head = `{"name":${JSON.stringify(name)},${JSON.stringify(format.argumentsKey)}:`;
    const argumentsText = objectText.startsWith(head)
      ? objectText.slice(head.length, -1)
      : JSON.stringify(args);
    calls.push({ name, arguments: args as Record<string, unknown>, argumentsText });
    rest = rest.slice(end + format.suffix.length);
    if (rest.length > 0 && rest.startsWith(format.separator + marker))
      rest = rest.slice(format.separator.length);
    else break;
  }
  if (rest.trim() !== '') {
    throw new InvalidArgumentError({
      argument: 'answer',
      message: `has text after its tool calls: ${JSON.stringify(rest.slice(0, 200))}.`,
    });
  }
  return { text: '', calls };
}

/**
 * Like {@link parseToolCalls}, but an answer that begins a call and does not complete it (cut by
 * `maxTokens` below what the tool needs) reads as text, for APIs that must answer something.
 */
export function readToolCalls(
  answer: string,
  options: { format?: Partial<ToolCallFormat> } = {},
): { text: string; calls: ParsedToolCall[] } {
  try {
    return parseToolCalls(answer, options);
  } catch (error) {
    if (InvalidArgumentError.isInstance(error) && error.argument === 'answer')
      return { text: answer, calls: [] };
    throw error;
  }
}

/** A piece of a tool call as it streams: the name once (with the call's index), then argument text. */
export interface ToolCallDelta {
  /** Which call of the answer (0 for the first; parallel calls count up). */
  readonly index: number;
  /** The tool's name, in the first delta of a call. */
  readonly name?: string;
  /** The next raw characters of the call's arguments JSON; a call's deltas concatenate to its `argumentsText`. */
  readonly argumentsDelta?: string;
}

/** What one piece of an answer adds: text that is certainly text, and pieces of calls. */
export interface ToolAnswerDelta {
  readonly text: string;
  readonly calls: readonly ToolCallDelta[];
}

/** An incremental reader of an answer (see {@link toolCallStream}). */
export interface ToolCallStream {
  /** Feeds the next text of the answer; returns what it settles. */
  push(text: string): ToolAnswerDelta;
  /**
   * The answer ended: text held back because it could still have begun a call comes out as text, and so
   * does an answer that began a call but ended before the tool's name was complete (cut short).
   */
  end(): ToolAnswerDelta;
  /** `undecided` until the first bytes tell a call from text. */
  readonly mode: 'undecided' | 'text' | 'call';
  /** How many calls have had their name read so far. */
  readonly namedCalls: number;
}

/**
 * Reads an answer while it is generated, for streaming APIs (LangChain's `tool_call_chunks`, OpenAI's
 * `delta.tool_calls`, the AI SDK's tool-input parts). Text that may still begin a call (a strict prefix of
 * the call marker) is held back until it is clearly text, so streamed text never shows call syntax. A call
 * yields its name as soon as it is complete, then its arguments JSON as it arrives, exactly the raw text
 * (JSON-aware, so a suffix inside a string value does not end it); parallel calls count up their index.
 */
export function toolCallStream(options: { format?: Partial<ToolCallFormat> } = {}): ToolCallStream {
  const format = resolveFormat(options.format);
  const marker = callMarker(format);
  const open = `${format.prefix}{"name":`;
  const keyPart = `,${JSON.stringify(format.argumentsKey)}:`;
  const closing = `}${format.suffix}`;
  let mode: ToolCallStream['mode'] = 'undecided';
  let text = ''; // undecided: the held text; call: the whole answer so far
  let position = 0;
  let index = 0;
  let named = 0;
  let phase: 'head' | 'arguments' | 'tail' = 'head';
  let argumentsStart = 0;
  let emitted = 0;
  const none: ToolAnswerDelta = { text: '', calls: [] };

  const readCalls = (): ToolCallDelta[] => {
    const deltas: ToolCallDelta[] = [];
    for (;;) {
      if (phase === 'head') {
        if (!text.startsWith(open, position)) break;
        const nameEnd = jsonStringEnd(text, position + open.length);
        if (nameEnd < 0 || !text.startsWith(keyPart, nameEnd)) break;
        deltas.push({
          index,
          name: JSON.parse(text.slice(position + open.length, nameEnd)) as string,
        });
        named += 1;
        argumentsStart = emitted = nameEnd + keyPart.length;
        phase = 'arguments';
      } else if (phase === 'arguments') {
        const end = jsonObjectEnd(text.slice(argumentsStart));
        const limit = end < 0 ? text.length : argumentsStart + end;
        if (limit > emitted) deltas.push({ index, argumentsDelta: text.slice(emitted, limit) });
        emitted = limit;
        if (end < 0) break;
        position = limit;
        phase = 'tail';
      } else {
        // After a call: another one follows the separator (parallel calls), or the answer ends.
        const next = position + closing.length + format.separator.length;
        if (!text.startsWith(closing + format.separator, position) || text.length <= next) break;
        position = next;
        index += 1;
        phase = 'head';
      }
    }
    return deltas;
  };

  return {
    get mode() {
      return mode;
    },
    get namedCalls() {
      return named;
    },
    push(piece) {
      if (mode === 'text') return { text: piece, calls: [] };
      text += piece;
      if (mode === 'undecided') {
        if (text.startsWith(marker)) mode = 'call';
        else if (marker.startsWith(text)) return none;
        else {
          mode = 'text';
          const held = text;
          text = '';
          return { text: held, calls: [] };
        }
      }
      return { text: '', calls: readCalls() };
    },
    end() {
      if (mode === 'undecided' || (mode === 'call' && named === 0)) {
        const rest = text;
        mode = 'text';
        text = '';
        return { text: rest, calls: [] };
      }
      return none;
    },
  };
}

/** Writes calls the way {@link toolCallConstraint} constrains them (to render an assistant's earlier calls). */
export function formatToolCalls(
  calls: readonly { readonly name: string; readonly arguments: unknown }[],
  options: { format?: Partial<ToolCallFormat> } = {},
): string {
  const format = resolveFormat(options.format);
  return calls
    .map(
      call =>
        `${format.prefix}${JSON.stringify({ name: call.name, [format.argumentsKey]: call.arguments })}${format.suffix}`,
    )
    .join(format.separator);
}

/** Options of {@link toolPrompt}. */
export interface ToolPromptOptions {
  toolChoice?: ToolChoice;
  format?: Partial<ToolCallFormat>;
  /**
   * `signature` (default) lists each tool on one line as `- name(arg: type, opt?: type): description` —
   * short enough for small contexts; `schema` lists each tool's full JSON Schema as one JSON line.
   */
  detail?: 'signature' | 'schema';
}

/**
 * A system-prompt text that lists the tools and says how to call one in the constrained format, for models
 * whose chat template has no tool support of its own.
 */
export function toolPrompt(
  tools: readonly ToolDefinition[],
  options: ToolPromptOptions = {},
): string {
  const format = resolveFormat(options.format);
  const choice = normalizeChoice(options.toolChoice ?? 'auto');
  const listed = toolsAllowedBy(tools, choice);
  const lines = listed.map(tool =>
    options.detail === 'schema'
      ? JSON.stringify({
          name: tool.name,
          description: tool.description ?? '',
          parameters: tool.parameters ?? { type: 'object' },
        })
      : `- ${tool.name}(${parameterList(tool.parameters ?? { type: 'object' })})${tool.description ? `: ${tool.description}` : ''}`,
  );
  const example = formatToolCalls([{ name: listed[0]?.name ?? 'tool', arguments: {} }], {
    format,
  }).replace('{}', '{...}');
  const when =
    choice === 'required'
      ? 'You must call one of them.'
      : typeof choice === 'object'
        ? `You must call ${choice.name}.`
        : 'Call one when it helps; otherwise answer in text.';
  return `You can call these tools:\n${lines.join('\n')}\n${when} To call a tool, answer with exactly:\n${example}`;
}

/**
 * Adds {@link toolPrompt} to a conversation's system message (a new first message when there is none), so
 * any chat template shows the model its tools. Returns the messages unchanged when no tool can be called
 * (no tools, or `toolChoice: "none"`).
 */
export function withToolPrompt(
  messages: readonly ChatMessage[],
  tools: readonly ToolDefinition[],
  options: ToolPromptOptions = {},
): ChatMessage[] {
  if (tools.length === 0 || options.toolChoice === 'none') return [...messages];
  const prompt = toolPrompt(tools, options);
  const [first, ...rest] = messages;
  if (first?.role === 'system')
    return [{ ...first, content: `${first.content}\n\n${prompt}` }, ...rest];
  return [{ role: 'system', content: prompt }, ...messages];
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

/** `a: integer, b?: string` for an object schema's properties (required ones without `?`). */
function parameterList(schema: JsonSchema): string {
  if (
    typeof schema !== 'object' ||
    typeof schema.properties !== 'object' ||
    schema.properties === null
  )
    return '';
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.entries(schema.properties as Record<string, JsonSchema>)
    .map(([name, property]) => `${name}${required.has(name) ? '' : '?'}: ${typeText(property, 0)}`)
    .join(', ');
}

/** A short TypeScript-like type for a schema: `string`, `"c" | "f"`, `integer[]`, `{ a: number }`. */
function typeText(schema: JsonSchema, depth: number): string {
  if (schema === true) return 'any';
  if (schema === false) return 'never';
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum))
    return schema.enum.map(value => JSON.stringify(value)).join(' | ');
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(branches))
    return branches.map(branch => typeText(branch, depth + 1)).join(' | ');
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop() ?? 'any';
  const type = schema.type;
  if (Array.isArray(type)) return type.join(' | ');
  if (type === 'array') {
    const items = schema.items as JsonSchema | undefined;
    const item = items === undefined ? 'any' : typeText(items, depth + 1);
    return item.includes(' ') ? `(${item})[]` : `${item}[]`;
  }
  if (type === 'object' && typeof schema.properties === 'object' && depth < 3)
    return `{ ${parameterList(schema)} }`;
  return typeof type === 'string' ? type : 'any';
}

type NormalizedChoice = 'auto' | 'required' | 'none' | { name: string };

function resolveFormat(format: Partial<ToolCallFormat> | undefined): ToolCallFormat {
  const resolved = { ...DEFAULT_TOOL_CALL_FORMAT, ...format };
  for (const key of ['prefix', 'suffix', 'separator', 'argumentsKey'] as const) {
    if (typeof resolved[key] !== 'string')
      throw new InvalidArgumentError({
        argument: `format.${key}`,
        message: `must be a string, got ${JSON.stringify(resolved[key])}.`,
      });
  }
  if (resolved.argumentsKey.length === 0)
    throw new InvalidArgumentError({
      argument: 'format.argumentsKey',
      message: 'must not be empty.',
    });
  return resolved;
}

/** What a call answer begins with and a text answer never does: the prefix, or `{` when it is empty. */
function callMarker(format: ToolCallFormat): string {
  return format.prefix.length > 0 ? format.prefix : '{';
}

function normalizeChoice(choice: ToolChoice): NormalizedChoice {
  if (choice === 'any') return 'required';
  if (choice === 'auto' || choice === 'required' || choice === 'none') return choice;
  if (typeof choice === 'object' && choice !== null && typeof choice.name === 'string')
    return { name: choice.name };
  throw new InvalidArgumentError({
    argument: 'toolChoice',
    message: `must be "auto", "required", "any", "none" or { name }, got ${JSON.stringify(choice)}.`,
  });
}

function toolsAllowedBy(
  tools: readonly ToolDefinition[],
  choice: NormalizedChoice,
): readonly ToolDefinition[] {
  return typeof choice === 'object' ? tools.filter(tool => tool.name === choice.name) : tools;
}

function buildGrammar(
  tools: readonly ToolDefinition[],
  choice: NormalizedChoice,
  parallel: boolean,
  format: ToolCallFormat,
): { builder: GrammarBuilder; root: number } {
  const b = new GrammarBuilder();
  const alternatives: GrammarElement[][] = [];
  if (choice === 'auto' || choice === 'none')
    alternatives.push([textNotStartingWith(b, new TextEncoder().encode(callMarker(format)))]);
  if (choice !== 'none') {
    const calls = tools.map((tool, index) => {
      // Each tool's schema compiles on its own, so its `$ref`s resolve against its own `$defs`.
      const args = compileJsonSchemaInto(
        b,
        normalizeJsonSchema(tool.parameters ?? { type: 'object' }),
        `tools[${index}].parameters`,
      );
      return [
        ...b.text(
          `${format.prefix}{"name":${JSON.stringify(tool.name)},${JSON.stringify(format.argumentsKey)}:`,
        ),
        args,
        ...b.text(`}${format.suffix}`),
      ];
    });
    const call = b.choice('tool-call', calls);
    if (parallel) {
      const more = b.repeat(
        'more-calls',
        b.group('next-call', [...b.text(format.separator), call]),
        0,
        Infinity,
      );
      alternatives.push([call, ...more]);
    } else {
      alternatives.push([call]);
    }
  }
  const root = b.declare('root');
  b.rules[root].alternatives = alternatives;
  return { builder: b, root };
}

/** Any byte string that does not begin with `marker` (its strict prefixes included, and the empty text). */
function textNotStartingWith(b: GrammarBuilder, marker: Uint8Array): GrammarElement {
  const anyByte: GrammarElement = { kind: 'bytes', set: byteSet([0, 255]) };
  const rest = b.repeat('text', anyByte, 0, Infinity);
  let next: GrammarElement | undefined;
  for (let i = marker.length - 1; i >= 0; i--) {
    const byte = marker[i];
    const other: GrammarElement = {
      kind: 'bytes',
      set: byteSet(
        ...(byte > 0 ? [[0, byte - 1] as const] : []),
        ...(byte < 255 ? [[byte + 1, 255] as const] : []),
      ),
    };
    const alternatives: GrammarElement[][] = [[], [other, ...rest]];
    // Following the marker one more byte is text only while the marker is not complete.
    if (next) alternatives.push([{ kind: 'bytes', set: byteSet([byte, byte]) }, next]);
    next = b.rule(`text-after-${i}`, alternatives);
  }
  invariant(next !== undefined, 'a tool-call marker is never empty');
  return next;
}

/** Index just past the JSON object that starts `text` (compact or not), or -1 when it does not close. */
function jsonObjectEnd(text: string): number {
  if (text[0] !== '{') return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Index just past the JSON string whose opening quote is at `start`, or -1 when it does not close. */
function jsonStringEnd(text: string, start: number): number {
  if (text[start] !== '"') return -1;
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return -1;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
