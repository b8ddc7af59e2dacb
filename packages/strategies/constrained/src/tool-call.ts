import { InvalidArgumentError, invariant } from '@decodekit/core';
import {
  compileConstraint,
  constraintProcessor,
  type ConstraintOptions,
  type ConstraintProcessor,
} from './constraint-processor.js';
import { byteSet, GrammarBuilder, type GrammarElement } from './grammar-ir.js';
import { compileJsonSchemaInto, type JsonSchema } from './json-schema-compiler.js';
import { checkTokenizer } from './json-schema.js';

/** A tool the model may call: its name, what it does, and a JSON Schema of its arguments. */
export interface ToolSpec {
  readonly name: string;
  readonly description?: string;
  /** JSON Schema of the arguments object (draft-07 / 2020-12, the subset `jsonSchema` supports). Default: any object. */
  readonly parameters?: JsonSchema;
}

/**
 * Which answers are allowed: `auto` text or a call, `required` (alias `any`) a call of any tool, `none` text
 * only, `{ name }` a call of that tool.
 */
export type ToolChoice = 'auto' | 'required' | 'any' | 'none' | { readonly name: string };

/** How a tool call is written. The default is the Hermes / Qwen 2.5 format many chat models are trained on. */
export interface ToolCallFormat {
  /** Opens a call. Default `<tool_call>\n`. */
  readonly prefix: string;
  /** Closes a call. Default `\n</tool_call>`. */
  readonly suffix: string;
  /** Between two calls of one answer (parallel calls). Default `\n`. */
  readonly separator: string;
  /** Key of the arguments object next to `"name"`. Default `arguments`. */
  readonly argumentsKey: string;
}

/** The default {@link ToolCallFormat}: `<tool_call>\n{"name":"f","arguments":{...}}\n</tool_call>`. */
export const DEFAULT_TOOL_CALL_FORMAT: ToolCallFormat = {
  prefix: '<tool_call>\n',
  suffix: '\n</tool_call>',
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
  readonly arguments: Record<string, unknown>;
}

/**
 * Constrains an answer to either free text or a call of one of `tools` whose arguments are compact JSON
 * valid under the tool's schema (`toolChoice` narrows that). A call is written
 * `prefix {"name":"<tool>","<argumentsKey>":<arguments>} suffix`; a text answer is any text that does not
 * begin with `prefix`, so the first bytes decide which one the answer is, and {@link parseToolCalls} reads
 * it back. With `maxTokens`, a call is only begun when it can be closed within the budget.
 *
 * @example
 * const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 } }, required: ['city'] } };
 * const decoder = createDecoder({ model }).use(toolCallConstraint([weather], { tokenizer: model.tokenizer, toolChoice: 'required', maxTokens: 64 }));
 * const { calls } = parseToolCalls((await decoder.generate(prompt, { maxTokens: 64 })).text);
 */
export function toolCallConstraint(
  tools: readonly ToolSpec[],
  options: ToolCallConstraintOptions,
): ConstraintProcessor {
  checkTokenizer(options);
  const format = resolveFormat(options.format);
  const choice = normalizeChoice(options.toolChoice ?? 'auto');
  const parallel = options.parallel ?? false;
  checkTools(tools, choice);
  const callable =
    typeof choice === 'object' ? tools.filter(tool => tool.name === choice.name) : tools;
  const key = `tool-calls:${JSON.stringify({ tools: callable.map(({ name, parameters }) => ({ name, parameters })), choice, parallel, format })}`;
  const constraint = compileConstraint(
    options.tokenizer,
    key,
    () => buildGrammar(callable, choice, parallel, format),
    'tools',
  );
  return constraintProcessor('tool-calls', constraint, options);
}

/**
 * Reads an answer written under {@link toolCallConstraint}: `{ text, calls: [] }` for a text answer, or
 * `{ text: '', calls }` for one or more calls.
 * @throws InvalidArgumentError when the answer starts a call that is not complete (e.g. cut by an abort).
 */
export function parseToolCalls(
  answer: string,
  options: { format?: Partial<ToolCallFormat> } = {},
): { text: string; calls: ParsedToolCall[] } {
  const format = resolveFormat(options.format);
  if (!answer.startsWith(format.prefix)) return { text: answer, calls: [] };
  const calls: ParsedToolCall[] = [];
  let rest = answer;
  for (;;) {
    rest = rest.slice(format.prefix.length);
    const end = jsonObjectEnd(rest);
    const value = end < 0 ? undefined : parseObject(rest.slice(0, end));
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
        message: `is not a complete tool call (${format.prefix.trim()}{"name":...,"${format.argumentsKey}":{...}}${format.suffix.trim()}): ${JSON.stringify(answer.slice(0, 200))}.`,
      });
    }
    calls.push({ name, arguments: args as Record<string, unknown> });
    rest = rest.slice(end + format.suffix.length);
    if (rest.startsWith(format.separator + format.prefix))
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

/** A piece of a tool call as it streams: the name once (with the call's index), then argument text. */
export interface ToolCallDelta {
  /** Which call of the answer (0 for the first; parallel calls count up). */
  readonly index: number;
  /** The tool's name, in the first delta of a call. */
  readonly name?: string;
  /** The next raw characters of the call's arguments JSON; a call's deltas concatenate to its arguments. */
  readonly argumentsDelta?: string;
}

/** An incremental reader of a call answer (see {@link toolCallStream}). */
export interface ToolCallStream {
  /** Feeds the next text of the answer; returns what it completes (names, argument text). */
  push(text: string): ToolCallDelta[];
}

/**
 * Reads an answer that is tool calls (it starts with the format's prefix) while it is generated: each
 * call's name as soon as it is complete, then its arguments JSON character by character as it arrives,
 * exactly the raw text (JSON-aware, so a suffix inside a string value does not end it). For streaming
 * APIs (LangChain's `tool_call_chunks`, OpenAI's `delta.tool_calls`).
 */
export function toolCallStream(options: { format?: Partial<ToolCallFormat> } = {}): ToolCallStream {
  const format = resolveFormat(options.format);
  const open = `${format.prefix}{"name":`;
  const keyPart = `,${JSON.stringify(format.argumentsKey)}:`;
  const closing = `}${format.suffix}`;
  let text = '';
  let position = 0;
  let index = 0;
  let phase: 'head' | 'arguments' | 'tail' = 'head';
  let argumentsStart = 0;
  let emitted = 0;
  return {
    push(piece) {
      text += piece;
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
    },
  };
}

/** Writes calls the way {@link toolCallConstraint} constrains them (to render an assistant's earlier calls). */
export function formatToolCalls(
  calls: readonly ParsedToolCall[],
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
   * `signature` (default) lists each tool on one line as `name(arg: type, opt?: type): description` —
   * short enough for small contexts; `schema` lists each tool's full JSON Schema as one JSON line.
   */
  detail?: 'signature' | 'schema';
}

/**
 * A system-prompt text that lists the tools and says how to call one in the constrained format, for models
 * whose chat template has no tool support of its own.
 */
export function toolPrompt(tools: readonly ToolSpec[], options: ToolPromptOptions = {}): string {
  const format = resolveFormat(options.format);
  const choice = normalizeChoice(options.toolChoice ?? 'auto');
  const listed =
    typeof choice === 'object' ? tools.filter(tool => tool.name === choice.name) : tools;
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

function resolveFormat(format: Partial<ToolCallFormat> | undefined): ToolCallFormat {
  const resolved = { ...DEFAULT_TOOL_CALL_FORMAT, ...format };
  if (resolved.prefix.length === 0)
    throw new InvalidArgumentError({
      argument: 'format.prefix',
      message: 'must not be empty: it tells a call from text.',
    });
  return resolved;
}

function normalizeChoice(choice: ToolChoice): 'auto' | 'required' | 'none' | { name: string } {
  if (choice === 'any') return 'required';
  if (choice === 'auto' || choice === 'required' || choice === 'none') return choice;
  if (typeof choice === 'object' && choice !== null && typeof choice.name === 'string')
    return { name: choice.name };
  throw new InvalidArgumentError({
    argument: 'toolChoice',
    message: `must be "auto", "required", "any", "none" or { name }, got ${JSON.stringify(choice)}.`,
  });
}

function checkTools(
  tools: readonly ToolSpec[],
  choice: 'auto' | 'required' | 'none' | { name: string },
): void {
  if (!Array.isArray(tools))
    throw new InvalidArgumentError({
      argument: 'tools',
      message: 'must be an array of { name, parameters }.',
    });
  const names = new Set<string>();
  for (const [index, tool] of tools.entries()) {
    if (!tool || typeof tool.name !== 'string' || tool.name.length === 0) {
      throw new InvalidArgumentError({
        argument: `tools[${index}]`,
        message: 'needs a non-empty string name.',
      });
    }
    if (names.has(tool.name))
      throw new InvalidArgumentError({
        argument: `tools[${index}]`,
        message: `repeats the name "${tool.name}".`,
      });
    names.add(tool.name);
  }
  if (choice !== 'none' && tools.length === 0) {
    throw new InvalidArgumentError({
      argument: 'tools',
      message: `is empty, so toolChoice "${typeof choice === 'object' ? choice.name : choice}" cannot be met; pass tools or toolChoice "none".`,
    });
  }
  if (typeof choice === 'object' && !names.has(choice.name)) {
    throw new InvalidArgumentError({
      argument: 'toolChoice',
      message: `names "${choice.name}", which is not one of the tools (${[...names].join(', ')}).`,
    });
  }
}

function buildGrammar(
  tools: readonly ToolSpec[],
  choice: 'auto' | 'required' | 'none' | { name: string },
  parallel: boolean,
  format: ToolCallFormat,
): { builder: GrammarBuilder; root: number } {
  const b = new GrammarBuilder();
  const alternatives: GrammarElement[][] = [];
  if (choice === 'auto' || choice === 'none')
    alternatives.push([textNotStartingWith(b, new TextEncoder().encode(format.prefix))]);
  if (choice !== 'none') {
    const calls = tools.map((tool, index) => {
      const args = compileJsonSchemaInto(
        b,
        tool.parameters ?? { type: 'object' },
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
