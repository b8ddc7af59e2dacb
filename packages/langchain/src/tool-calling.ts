import { InvalidArgumentError, type ChatMessage } from '@decodekit/core';
import {
  toolPrompt,
  unsupportedSchemaFeatures,
  type JsonSchema,
  type ToolCallFormat,
  type ToolChoice,
  type ToolSpec,
} from '@decodekit/strategy-constrained';
import type { BindToolsInput } from '@langchain/core/language_models/chat_models';
import {
  convertToOpenAITool,
  isLangChainTool,
  isRunnableToolLike,
  isStructuredToolParams,
} from '@langchain/core/utils/function_calling';
import { withoutNoOpKeywords } from './run-decoder.js';

/** What a call decodes when tools are bound: the tools, which answers are allowed, and the call format. */
export interface ToolCallRequest {
  tools: readonly ToolSpec[];
  toolChoice: Exclude<ToolChoice, 'none' | 'any'>;
  parallel: boolean;
  format?: Partial<ToolCallFormat>;
}

/**
 * Turns LangChain tools (StructuredTool, `tool()`, RunnableToolLike, `{ name, description, schema }`, an
 * OpenAI `{ type: "function", function }` definition, or a decodekit `ToolSpec`) into `ToolSpec`s whose
 * parameter schemas the JSON constraint can enforce.
 * @throws InvalidArgumentError for a repeated name or a schema the constraint cannot enforce.
 */
export function toToolSpecs(tools: readonly (BindToolsInput | ToolSpec)[]): ToolSpec[] {
  if (!Array.isArray(tools)) {
    throw new InvalidArgumentError({ argument: 'tools', message: 'must be an array of tools.' });
  }
  const specs = tools.map((tool, index) => toToolSpec(tool, index));
  const names = new Set<string>();
  specs.forEach((spec, index) => {
    if (names.has(spec.name)) {
      throw new InvalidArgumentError({
        argument: `tools[${index}]`,
        message: `repeats the name "${spec.name}"; tool names must be unique.`,
      });
    }
    names.add(spec.name);
  });
  return specs;
}

function toToolSpec(tool: BindToolsInput | ToolSpec, index: number): ToolSpec {
  const candidate = tool as Record<string, unknown>;
  let spec: ToolSpec;
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
  if (spec.name.length === 0) {
    throw new InvalidArgumentError({ argument: `tools[${index}]`, message: 'has an empty name.' });
  }
  const parameters = withoutNoOpKeywords(spec.parameters ?? { type: 'object' });
  const unsupported = unsupportedSchemaFeatures(parameters);
  if (unsupported.length > 0) {
    throw new InvalidArgumentError({
      argument: `tools[${index}]`,
      message: `"${spec.name}" has arguments the constraint cannot enforce: ${unsupported.join('; ')}.`,
    });
  }
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
  tools: readonly ToolSpec[],
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
 * Checks a `toolCallFormat` where it is given (constructor): only known keys, strings, a non-empty prefix.
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
  const { prefix, argumentsKey } = format as Partial<ToolCallFormat>;
  if (prefix === '') fail('prefix must not be empty: it tells a tool call from text.');
  if (argumentsKey === '') fail('argumentsKey must not be empty.');
}

/**
 * Adds the tool list and the call format to the conversation's system message (a new first message when
 * there is none), so any chat template — decodekit's plain one included — shows the model its tools.
 */
export function withToolPrompt(
  messages: readonly ChatMessage[],
  request: ToolCallRequest,
): ChatMessage[] {
  const prompt = toolPrompt(request.tools, {
    toolChoice: request.toolChoice,
    format: request.format,
  });
  const [first, ...rest] = messages;
  if (first?.role === 'system') {
    return [{ role: 'system', content: `${first.content}\n\n${prompt}` }, ...rest];
  }
  return [{ role: 'system', content: prompt }, ...messages];
}
