import {
  ContextLengthError,
  createDecoder,
  InvalidArgumentError,
  invariant,
  resolveGenerateOptions,
  type DecodeEvent,
  type FinishReason,
  type LoadedModel,
  type LogitsProcessor,
  type Prompt,
  type Tokenizer,
} from '@decodekit/core';
import {
  outputConstraint,
  type ConstraintProcessor,
  type JsonSchema,
} from '@decodekit/strategy-constrained';
import {
  toGenerateOptions,
  validateDecodeOptions,
  type DecodekitDecodeOptions,
} from './decode-options.js';
import type { ToolCallRequest } from './tool-calling.js';

/** What one call decodes: the resolved options plus LangChain's stop strings, signal and response format. */
export interface DecodeRequest {
  model: LoadedModel;
  prompt: Prompt;
  /** Instance options already merged with the call's. */
  options: DecodekitDecodeOptions;
  stop?: readonly string[];
  signal?: AbortSignal;
  /** When set, output is constrained to compact JSON valid against this schema. */
  responseSchema?: JsonSchema;
  /** When set, output is constrained to text or a call of one of the tools (see `toolCallConstraint`). */
  toolCalls?: ToolCallRequest;
  /** Prepend BOS to text prompts (core's default, true). */
  addSpecialTokens?: boolean;
}

/**
 * Runs one generation with a fresh decoder (model, processors, strategy of this call) and yields core's
 * decode events. The prompt is encoded here once, so the room left in the context is known: a prompt that
 * leaves no room throws ContextLengthError. With `responseSchema`, `@decodekit/strategy-constrained`'s
 * `jsonSchema` processor is appended to the processors with a budget of the call's `maxTokens` capped to
 * that room, so the JSON closes before either limit. With `toolCalls`, `toolCallConstraint` is appended the
 * same way (both through `outputConstraint`). Stop strings are not applied under either constraint (the grammar decides where the output
 * ends).
 */
export function runDecoder(request: DecodeRequest): AsyncIterable<DecodeEvent> {
  const { model, options, signal, responseSchema, toolCalls } = request;
  // The non-null assertion below relies on this: exactly one constraint at most.
  if (responseSchema !== undefined && toolCalls !== undefined) {
    throw new InvalidArgumentError({
      argument: 'responseFormat',
      message:
        'cannot be combined with bound tools: use one of withStructuredOutput or bindTools per call.',
    });
  }
  const constrained = responseSchema !== undefined || toolCalls !== undefined;
  const stop = constrained ? undefined : request.stop;
  validateDecodeOptions({ ...options, stop });
  const generateOptions = toGenerateOptions(options, { stop, signal });
  if (request.addSpecialTokens !== undefined)
    generateOptions.addSpecialTokens = request.addSpecialTokens;
  const resolved = resolveGenerateOptions(generateOptions);
  const promptTokens = encodePrompt(model.tokenizer, request.prompt, resolved.addSpecialTokens);
  const { contextLength } = model.info;
  const room = contextLength - promptTokens.length;
  if (room < 1) {
    throw new ContextLengthError({
      length: promptTokens.length + 1,
      contextLength,
      what: `The prompt (${promptTokens.length} tokens) plus one new token`,
    });
  }
  const processors: LogitsProcessor<unknown>[] = [...(options.processors ?? [])];
  if (constrained) {
    const { tokenizer } = model;
    const make = (maxTokens?: number): ConstraintProcessor => {
      const constraint = outputConstraint(
        {
          schema: responseSchema,
          tools: toolCalls?.tools,
          toolChoice: toolCalls?.toolChoice,
          parallel: toolCalls?.parallel,
          callFormat: toolCalls?.format,
        },
        { tokenizer, maxTokens },
      );
      invariant(
        constraint !== undefined,
        'a constrained request has a responseSchema or toolCalls',
      );
      return constraint;
    };
    // Unbudgeted first: its minimalTokens says whether the smallest valid output fits the context at all.
    const { minimalTokens } = make();
    const what = toolCalls !== undefined ? 'tool call' : 'JSON the schema allows';
    if (minimalTokens > room && minimalTokens <= resolved.maxTokens) {
      throw new ContextLengthError({
        length: promptTokens.length + minimalTokens,
        contextLength,
        what: `The prompt (${promptTokens.length} tokens) plus the smallest ${what} (up to ${minimalTokens} tokens)`,
      });
    }
    processors.push(make(Math.min(resolved.maxTokens, room)));
  }
  const decoder = createDecoder({
    model,
    tokenizer: model.tokenizer,
    processors,
    strategy: options.strategy,
  });
  return decoder.stream({ tokens: promptTokens }, generateOptions);
}

/** The ids core would feed for a prompt: chat messages through the chat template, BOS as the model expects. */
export function encodePrompt(
  tokenizer: Tokenizer,
  prompt: Prompt,
  addSpecialTokens: boolean,
): readonly number[] {
  if (typeof prompt === 'string') return tokenizer.encode(prompt, { addSpecialTokens });
  if ('tokens' in prompt) return prompt.tokens;
  return tokenizer.encode(
    tokenizer.applyChatTemplate(prompt.messages, { addGenerationPrompt: true }),
    { addSpecialTokens },
  );
}

/** LangChain's (OpenAI's) finish reason for a decodekit one: an EOS or a stop string both read `stop`. */
export function finishReason(reason: FinishReason): string {
  return reason === 'length' ? 'length' : reason === 'abort' ? 'abort' : 'stop';
}
