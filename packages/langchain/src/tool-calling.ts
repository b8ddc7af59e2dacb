import { InvalidArgumentError } from '@decodekit/core';
import {
  JSON_TOOL_CALL_FORMAT,
  normalizeJsonSchema,
  parseToolCalls,
  readToolCalls,
  toolCallStream,
  validateTools,
  type JsonSchema,
  type ParsedToolCall,
  type ToolCallFormat,
  type ToolCallStream,
  type ToolChoice,
  type ToolDefinition,
} from '@decodekit/strategy-constrained';
import type { BindToolsInput } from '@langchain/core/language_models/chat_models';
import {
  convertToOpenAITool,
  isLangChainTool,
  isRunnableToolLike,
  isStructuredToolParams,
} from '@langchain/core/utils/function_calling';

/** What a call decodes when tools are bound: the tools, which answers are allowed, and the call format. */
export interface ToolCallRequest {
  tools: readonly ToolDefinition[];
  toolChoice: Exclude<ToolChoice, 'none' | 'any'>;
  parallel: boolean;
  format?: Partial<ToolCallFormat>;
}

/**
 * Turns LangChain tools (StructuredTool, `tool()`, RunnableToolLike, `{ name, description, schema }`, an
 * OpenAI `{ type: "function", function }` definition, or a decodekit `ToolDefinition`) into
 * `ToolDefinition`s whose parameter schemas the JSON constraint can enforce (`validateTools`).
 * @throws InvalidArgumentError for a bad or repeated name, or a schema the constraint cannot enforce.
 */
export function toToolDefinitions(
  tools: readonly (BindToolsInput | ToolDefinition)[],
): ToolDefinition[] {
  if (!Array.isArray(tools)) {
    throw new InvalidArgumentError({ argument: 'tools', message: 'must be an array of tools.' });
  }
  const definitions = tools.map((tool, index) => toToolDefinition(tool, index));
  validateTools(definitions);
  return definitions;
}

function toToolDefinition(tool: BindToolsInput | ToolDefinition, index: number): ToolDefinition {
  const candidate = tool as Record<string, unknown>;
  let spec: ToolDefinition;
  if (
    isLangChainTool(tool) ||
    isRunnableToolLike(tool) ||
    isStructuredToolParams(tool) ||
    (typeof candidate?.function === 'object' && candidate.function !== null)
  ) {
    const { function: definition } = convertToOpenAITool(tool as never);
    spec = {
      name: definition.name,
      description: definition.description,
      parameters: (definition.parameters ?? { type: 'object' }) as JsonSchema,
    };
  } else if (typeof candidate?.name === 'string') {
    spec = {
      name: candidate.name,
      description: typeof candidate.description === 'string' ? candidate.description : undefined,
      parameters: (candidate.parameters ?? { type: 'object' }) as JsonSchema,
    };
  } else {
    throw new InvalidArgumentError({
      argument: `tools[${index}]`,
      message:
        'is not a tool: pass a LangChain tool, { name, description, schema }, an OpenAI function tool or ' +
        '{ name, description, parameters }.',
    });
  }
  const parameters = normalizeJsonSchema(spec.parameters ?? { type: 'object' });
  return spec.description === undefined
    ? { name: spec.name, parameters }
    : { name: spec.name, description: spec.description, parameters };
}

/**
 * LangChain's `tool_choice` as decodekit's: `auto` (default), `any` / `required`, `none`, a tool name, or
 * OpenAI's `{ type: "function", function: { name } }`.
 * @throws InvalidArgumentError for anything else, or a name that is not one of the tools.
 */
export function resolveToolChoice(
  choice: unknown,
  tools: readonly ToolDefinition[],
): Exclude<ToolChoice, 'any'> {
  let resolved: Exclude<ToolChoice, 'any'>;
  if (choice === undefined || choice === 'auto') resolved = 'auto';
  else if (choice === 'any' || choice === 'required') resolved = 'required';
  else if (choice === 'none') resolved = 'none';
  else if (typeof choice === 'string') resolved = { name: choice };
  else if (
    typeof choice === 'object' &&
    choice !== null &&
    typeof (choice as { function?: { name?: unknown } }).function?.name === 'string'
  ) {
    resolved = { name: (choice as { function: { name: string } }).function.name };
  } else if (
    typeof choice === 'object' &&
    choice !== null &&
    typeof (choice as { name?: unknown }).name === 'string'
  ) {
    resolved = { name: (choice as { name: string }).name };
  } else {
    throw new InvalidArgumentError({
      argument: 'tool_choice',
      message: `must be "auto", "any", "required", "none", a tool name or { type: "function", function: { name } }, got ${JSON.stringify(choice)}.`,
    });
  }
  if (typeof resolved === 'object' && !tools.some(tool => tool.name === resolved.name)) {
    throw new InvalidArgumentError({
      argument: 'tool_choice',
      message: `names "${resolved.name}", which is not a bound tool (${tools.map(tool => tool.name).join(', ') || 'none bound'}).`,
    });
  }
  if (resolved !== 'none' && resolved !== 'auto' && tools.length === 0) {
    throw new InvalidArgumentError({
      argument: 'tool_choice',
      message:
        'asks for a tool call but no tools are bound; use bindTools(tools, { tool_choice }).',
    });
  }
  return resolved;
}

/**
 * Checks a `toolCallFormat` where it is given (constructor): only known keys, strings, a non-empty
 * `argumentsKey` (an empty prefix writes bare JSON calls, told from text by their `{`).
 * @throws InvalidArgumentError naming `toolCallFormat`.
 */
export function validateToolCallFormat(format: unknown): void {
  if (format === undefined) return;
  const fail = (message: string): never => {
    throw new InvalidArgumentError({ argument: 'toolCallFormat', message });
  };
  if (typeof format !== 'object' || format === null || Array.isArray(format)) {
    fail('must be { prefix?, suffix?, separator?, argumentsKey? }.');
  }
  for (const [key, value] of Object.entries(format as Record<string, unknown>)) {
    if (!['prefix', 'suffix', 'separator', 'argumentsKey'].includes(key)) {
      fail(`has an unknown key "${key}" (prefix, suffix, separator, argumentsKey).`);
    }
    if (value !== undefined && typeof value !== 'string') fail(`${key} must be a string.`);
  }
  if ((format as Partial<ToolCallFormat>).argumentsKey === '')
    fail('argumentsKey must not be empty.');
}

/**
 * How a call's answer is read: plain text, calls of bound tools (in the call format), or — for
 * `withStructuredOutput`'s `functionCalling` — one forced call whose arguments are the whole answer (the
 * JSON decoded under the schema: a forced call's name and wrapper carry no choice, so they are not decoded).
 */
export interface AnswerReader {
  /** An incremental reader for streaming; undefined for plain text. */
  stream(): ToolCallStream | undefined;
  /** The whole answer as text and calls. */
  parse(answer: string): { text: string; calls: ParsedToolCall[] };
}

/** The {@link AnswerReader} of a call: bound tools, a forced call named `callName`, or plain text. */
export function answerReader(
  toolCalls: ToolCallRequest | undefined,
  callName: string | undefined,
): AnswerReader {
  if (toolCalls !== undefined) {
    return {
      stream: () => toolCallStream({ format: toolCalls.format }),
      parse: answer => parseToolCalls(answer, { format: toolCalls.format }),
    };
  }
  if (callName !== undefined) {
    return {
      stream: () => argumentsStream(callName),
      parse: answer => {
        // Read as the bare JSON call it stands for, so the arguments are checked as any call's are.
        const call = `{"name":${JSON.stringify(callName)},"arguments":${answer}}`;
        const { calls } = readToolCalls(call, { format: JSON_TOOL_CALL_FORMAT });
        return calls.length > 0 ? { text: '', calls } : { text: answer, calls: [] }; // the output parser reports text
      },
    };
  }
  return { stream: () => undefined, parse: answer => ({ text: answer, calls: [] }) };
}

/** A stream whose whole answer is the arguments of one call of `name`: the name with the first text. */
function argumentsStream(name: string): ToolCallStream {
  let started = false;
  return {
    mode: 'call',
    get namedCalls() {
      return started ? 1 : 0;
    },
    push(text) {
      if (text.length === 0) return { text: '', calls: [] };
      const delta = started
        ? { index: 0, argumentsDelta: text }
        : { index: 0, name, argumentsDelta: text };
      started = true;
      return { text: '', calls: [delta] };
    },
    end: () => ({ text: '', calls: [] }),
  };
}
