import {
  InvalidArgumentError,
  throwIfAborted,
  type DecodeEvent,
  type DecodeStats,
} from '@decodekit/core';
import {
  normalizeJsonSchema,
  unsupportedSchemaFeatures,
  withToolPrompt,
  type JsonSchema,
  type ToolAnswerDelta,
  type ToolCallFormat,
  type ToolDefinition,
} from '@decodekit/strategy-constrained';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type {
  BaseLanguageModelInput,
  StructuredOutputMethodOptions,
} from '@langchain/core/language_models/base';
import {
  BaseChatModel,
  type BindToolsInput,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
  type LangSmithParams,
} from '@langchain/core/language_models/chat_models';
import {
  assembleStructuredOutputPipeline,
  createContentParser,
} from '@langchain/core/language_models/structured_output';
import {
  AIMessage,
  AIMessageChunk,
  type BaseMessage,
  type UsageMetadata,
} from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { OutputParserException } from '@langchain/core/output_parsers';
import { RunnableLambda, type Runnable } from '@langchain/core/runnables';
import { toJsonSchema } from '@langchain/core/utils/json_schema';
import {
  isSerializableSchema,
  type SerializableSchema,
} from '@langchain/core/utils/standard_schema';
import { isInteropZodSchema, type InteropZodType } from '@langchain/core/utils/types';
import type { Serializable } from '@langchain/core/load/serializable';
import { callSignal, stampRetryability } from './call-policy.js';
import { isSerializableModel, SERIALIZABLE_KEYS, serializableAttributes } from './serialization.js';
import {
  DEFAULT_MAX_TOKENS,
  mergeDecodeOptions,
  type DecodekitDecodeOptions,
} from './decode-options.js';
import {
  applyInstanceMembers,
  cacheKeyParameters,
  initInstanceFields,
  invocationParamsOf,
  keyedCallOptions,
  type DecodekitInstanceFields,
  type DecodekitInstanceInput,
  type DecodekitInstanceMembers,
} from './instance-settings.js';
import { randomHex } from './cache-key.js';
import { JsonSchemaOutputParser } from './json-schema-output-parser.js';
import { finishReason, runDecoder } from './run-decoder.js';
import { toChatMessages } from './to-chat-messages.js';
import {
  answerReader,
  resolveToolChoice,
  toToolDefinitions,
  validateToolCallFormat,
  type ToolCallRequest,
} from './tool-calling.js';
import { toLangChainError } from './to-langchain-error.js';

/** Constrains a call's output; set by `withStructuredOutput`, or pass it yourself as a call option. */
export interface DecodekitResponseFormat {
  type: 'json_schema';
  /** A JSON Schema the output must validate against (see `@decodekit/strategy-constrained`). */
  schema: JsonSchema;
  /**
   * When set, the JSON is answered as a call of this tool (`tool_calls`, empty content), as
   * `withStructuredOutput`'s `functionCalling` sets it: the decoded text is the same JSON.
   */
  toolName?: string;
}

/** Constructor fields of {@link ChatDecodekit}. */
export interface ChatDecodekitInput extends BaseChatModelParams, DecodekitInstanceInput {
  /** When true, `invoke` also decodes through `_streamResponseChunks` (token callbacks fire). */
  streaming?: boolean;
  /**
   * How tool calls are written (and constrained, parsed, and rendered in the history). Default: the
   * Hermes / Qwen 2.5 format `<tool_call>\n{"name":...,"arguments":{...}}\n</tool_call>`; set it to the
   * format your model was trained on.
   */
  toolCallFormat?: Partial<ToolCallFormat>;
}

/** Call options of {@link ChatDecodekit}: every decode option can be changed for one call. */
export interface ChatDecodekitCallOptions extends BaseChatModelCallOptions, DecodekitDecodeOptions {
  /** Constrain this call's output to JSON valid against a schema (what `withStructuredOutput` sets). */
  responseFormat?: DecodekitResponseFormat;
  /** Tools the model may call (what `bindTools` sets): LangChain tools, OpenAI definitions or `ToolDefinition`s. */
  tools?: (BindToolsInput | ToolDefinition)[];
  /** Allow several tool calls in one answer. Default false (small models do better with one). */
  parallel_tool_calls?: boolean;
}

/** `response_metadata` of a ChatDecodekit message. */
export interface DecodekitResponseMetadata {
  model: string;
  model_name: string;
  model_provider: 'decodekit';
  /** `stop` (EOS or a stop string), `length`, or `tool_calls` when the answer is tool calls. */
  finish_reason: string;
  /** decodekit's own finish reason: `eos`, `stop` or `length`. */
  decodekit_finish_reason: string;
  /** Forward passes, timings, tokens per second, acceptance (speculative strategies)... */
  decodekit_stats: DecodeStats;
}

/** A tool name as `validateTools` accepts it (OpenAI's rule, plus `.`). */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

type StructuredSchema<TOutput> =
  InteropZodType<TOutput> | SerializableSchema<TOutput> | Record<string, unknown>;

// The settings both classes share are declared once: their fields in DecodekitInstanceFields (set by
// initInstanceFields), their accessors and methods in DecodekitInstanceMembers (copied onto the prototype
// by the class's static block); this merge gives the class their types.
// oxlint-disable-next-line typescript/no-unsafe-declaration-merging -- the merged members exist: fields set in the constructor, members copied by applyInstanceMembers
export interface ChatDecodekit extends DecodekitInstanceFields, DecodekitInstanceMembers {}

/**
 * A LangChain chat model that runs a local decodekit model: messages are rendered with the model
 * tokenizer's chat template (decodekit's plain `Role: content` template when the model has none, as
 * stories260K), decoded with the configured strategy and processors, and streamed token by token.
 * Structured output is grammar-constrained JSON, and tool calling (`bindTools`) is grammar-constrained too:
 * the answer is text or a call of a bound tool whose arguments are valid under the tool's schema.
 *
 * @example
 * const model = new ChatDecodekit({ maxTokens: 64, temperature: 0.8, topK: 40 });
 * const reply = await model.invoke('Tell me a story about a cat.');
 * for await (const chunk of await model.stream('Once upon a time')) process.stdout.write(chunk.text);
 */
export class ChatDecodekit extends BaseChatModel<ChatDecodekitCallOptions, AIMessageChunk> {
  static lc_name(): string {
    return 'ChatDecodekit';
  }

  static {
    applyInstanceMembers(this);
  }

  streaming: boolean;

  /** How tool calls are written, constrained, parsed and rendered (default: Hermes / Qwen 2.5). */
  toolCallFormat?: Partial<ToolCallFormat>;

  lc_serializable = true;

  /** Constructor fields that serialize (secrets such as a stray `apiKey`, callbacks and caches do not). */
  get lc_serializable_keys(): string[] {
    return [...SERIALIZABLE_KEYS, 'streaming', 'toolCallFormat'];
  }

  /** The current value of every serializable setting, also those set after construction. */
  get lc_attributes(): Serializable['lc_kwargs'] {
    return serializableAttributes(this, [...SERIALIZABLE_KEYS, 'streaming', 'toolCallFormat']);
  }

  /**
   * @param modelOrFields A hub id or folder (loaded on the first call through `@decodekit/backend-onnx`'s
   *   `loadModel`), or the constructor fields.
   * @param rest The other constructor fields when the first argument is the model.
   */
  constructor(
    modelOrFields: string | ChatDecodekitInput = {},
    rest: Omit<ChatDecodekitInput, 'model'> = {},
  ) {
    const fields: ChatDecodekitInput =
      typeof modelOrFields === 'string' ? { ...rest, model: modelOrFields } : modelOrFields;
    super(fields);
    initInstanceFields(this, fields);
    this.streaming = fields.streaming ?? false;
    validateToolCallFormat(fields.toolCallFormat);
    this.toolCallFormat = fields.toolCallFormat;
  }

  /**
   * LangChain serialization (`load()` revives it with `importMap`). Settings that are code — a `LoadedModel`,
   * processors, a strategy — cannot be written as data, so such an instance serializes as `not_implemented`
   * rather than as a model that would decode differently.
   */
  override toJSON(): ReturnType<BaseChatModel['toJSON']> {
    if (!isSerializableModel(this)) return this.toJSONNotImplemented();
    return super.toJSON();
  }

  _llmType(): string {
    return 'decodekit';
  }

  override getLsParams(options: this['ParsedCallOptions']): LangSmithParams {
    const merged = mergeDecodeOptions(this.decodeOptions, options);
    return {
      ls_provider: 'decodekit',
      ls_model_name: this.modelName,
      ls_model_type: 'chat',
      ls_temperature: merged.temperature ?? 0,
      ls_max_tokens: merged.maxTokens ?? DEFAULT_MAX_TOKENS,
      ls_stop: options.stop ?? this.stop,
    };
  }

  override invocationParams(options?: this['ParsedCallOptions']): Record<string, unknown> {
    return invocationParamsOf(this, options);
  }

  /** The instance's part of cache keys: every setting that changes the output (see `cacheKeyParameters`). */
  override _identifyingParams(): Record<string, unknown> {
    return {
      ...cacheKeyParameters(this.model, this.decodeOptions, this.stop),
      tool_call_format: this.toolCallFormat,
    };
  }

  override _getSerializedCacheKeyParametersForCall(
    options: this['ParsedCallOptions'] & { config?: unknown },
  ): string {
    return super._getSerializedCacheKeyParametersForCall(
      keyedCallOptions(options) as this['ParsedCallOptions'],
    );
  }

  async _generate(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    if (this.streaming) {
      let aggregate: ChatGenerationChunk | undefined;
      for await (const chunk of this._streamResponseChunks(messages, options, runManager)) {
        aggregate = aggregate ? aggregate.concat(chunk) : chunk;
      }
      if (!aggregate) throw new Error('decodekit produced no output chunk.');
      const message = aggregate.message as AIMessageChunk;
      return {
        generations: [
          {
            text: aggregate.text,
            message: new AIMessage({
              content: aggregate.text,
              tool_calls: message.tool_calls,
              usage_metadata: message.usage_metadata,
              response_metadata: message.response_metadata,
            }),
            generationInfo: aggregate.generationInfo,
          },
        ],
        llmOutput: tokenUsage(message.usage_metadata),
      };
    }
    const toolCalls = this.toolCallRequest(options);
    // The whole generation is one attempt of the AsyncCaller: `maxRetries` retries what can succeed again.
    const done = await this.caller.call(async () => {
      try {
        let last: Extract<DecodeEvent, { type: 'done' }> | undefined;
        for await (const event of this.events(messages, options, toolCalls))
          if (event.type === 'done') last = event;
        if (!last) throw new Error('decodekit ended without a result.');
        return last;
      } catch (error) {
        throw stampRetryability(error);
      }
    });
    const usage = usageOf(done);
    const { text, calls } = answerReader(toolCalls, options.responseFormat?.toolName).parse(
      done.text,
    );
    const metadata = this.responseMetadata(done, calls.length > 0);
    return {
      generations: [
        {
          text,
          message: new AIMessage({
            content: text,
            tool_calls: calls.map(call => ({
              id: newToolCallId(),
              name: call.name,
              args: call.arguments,
              type: 'tool_call' as const,
            })),
            usage_metadata: usage,
            response_metadata: { ...metadata },
          }),
          generationInfo: { finish_reason: metadata.finish_reason },
        },
      ],
      llmOutput: tokenUsage(usage),
    };
  }

  /**
   * Streams the answer token by token. With tools bound, text that may still turn out to be a tool call
   * (a prefix of the call marker) is held back until it is clearly text; a call streams as
   * `tool_call_chunks` (its name and id once the name is complete, then its arguments as they are decoded),
   * so streamed content never shows call syntax.
   */
  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const toolCalls = this.toolCallRequest(options);
    // Streamed tokens cannot be taken back, so only the model load is retried (`maxRetries`).
    await this.caller.call(async () => {
      try {
        await this.loadModel();
      } catch (error) {
        throw stampRetryability(error);
      }
    });
    // Text that may still begin a call is held back; a call streams as tool_call_chunks: the name (with a
    // fresh id) once complete, then argument text.
    const answer = answerReader(toolCalls, options.responseFormat?.toolName);
    const reader = answer.stream();
    const ids: string[] = [];
    const emit = async function* (message: AIMessageChunk) {
      const text = typeof message.content === 'string' ? message.content : '';
      const chunk = new ChatGenerationChunk({ text, message });
      yield chunk;
      await runManager?.handleLLMNewToken(text, undefined, undefined, undefined, undefined, {
        chunk,
      });
    };
    const emitAnswer = async function* ({ text, calls }: ToolAnswerDelta) {
      if (text.length > 0) yield* emit(new AIMessageChunk({ content: text }));
      for (const delta of calls) {
        if (delta.name !== undefined) ids[delta.index] = newToolCallId();
        yield* emit(
          new AIMessageChunk({
            content: '',
            tool_call_chunks: [
              {
                type: 'tool_call_chunk' as const,
                index: delta.index,
                ...(delta.name === undefined ? {} : { id: ids[delta.index], name: delta.name }),
                args: delta.argumentsDelta ?? '',
              },
            ],
          }),
        );
      }
    };
    for await (const event of this.events(messages, options, toolCalls)) {
      if (event.type === 'token' && event.text.length > 0) {
        if (reader) yield* emitAnswer(reader.push(event.text));
        else yield* emit(new AIMessageChunk({ content: event.text }));
      } else if (event.type === 'done') {
        let called = false;
        if (reader?.mode === 'call') {
          // The whole answer must be complete calls (it is under the constraint); this checks it.
          called = answer.parse(event.text).calls.length > 0;
        } else if (reader) {
          yield* emitAnswer(reader.end());
        }
        // The usage and finish reason ride on one last empty chunk, so concatenated chunks count them once.
        const metadata = this.responseMetadata(event, called);
        yield new ChatGenerationChunk({
          text: '',
          message: new AIMessageChunk({
            content: '',
            usage_metadata: usageOf(event),
            response_metadata: { ...metadata },
          }),
          generationInfo: { finish_reason: metadata.finish_reason },
        });
      }
    }
  }

  /**
   * Binds tools for tool calling through grammar-constrained decoding: every answer is either text or a
   * call of one of `tools` with arguments valid under the tool's JSON Schema (`tool_choice`: `"auto"`
   * (default), `"any"` / `"required"`, `"none"`, a tool name, or `{ type: "function", function: { name } }`).
   * The tools and the call format are added to the system prompt; earlier calls and tool results in the
   * history are rendered in the chat template. Stop strings do not apply while tools are active.
   * @throws InvalidArgumentError for a repeated name, a schema the constraint cannot enforce, or an unknown
   *   `tool_choice`.
   */
  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<ChatDecodekitCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatDecodekitCallOptions> {
    const definitions = toToolDefinitions(tools);
    resolveToolChoice(kwargs?.tool_choice, definitions);
    return this.withConfig({ ...kwargs, tools: definitions } as Partial<ChatDecodekitCallOptions>);
  }

  /**
   * Structured output through grammar-constrained decoding: the schema (zod v3/v4, a Standard Schema, or
   * a JSON Schema object) is turned into JSON Schema and compiled by `@decodekit/strategy-constrained`
   * into a logits processor, so every token keeps the output on a path to valid compact JSON that closes
   * within `maxTokens`. The result is parsed and validated (zod, Standard Schema, or the JSON Schema).
   * `method`: `"functionCalling"` (default, as `BaseChatModel` and LangChain's standard tests: a forced
   * call of one tool named `config.name` — else the schema's `title`, else `extract` — whose arguments are
   * the object, constrained the same way; the raw message carries it in `tool_calls`), `"jsonSchema"` (the
   * answer is the JSON itself: no tool prompt, no call wrapper, so fewer tokens) or `"jsonMode"` (any JSON
   * object).
   */
  // oxlint-disable-next-line typescript/no-explicit-any -- same constraint as BaseChatModel.withStructuredOutput: `any` lets interface types (no index signature) be outputs
  override withStructuredOutput<TOutput extends Record<string, any> = Record<string, any>>(
    outputSchema: StructuredSchema<TOutput>,
    config?: StructuredOutputMethodOptions<false>,
  ): Runnable<BaseLanguageModelInput, TOutput, ChatDecodekitCallOptions>;

  // oxlint-disable-next-line typescript/no-explicit-any -- same constraint as BaseChatModel.withStructuredOutput: `any` lets interface types (no index signature) be outputs
  override withStructuredOutput<TOutput extends Record<string, any> = Record<string, any>>(
    outputSchema: StructuredSchema<TOutput>,
    config?: StructuredOutputMethodOptions<true>,
  ): Runnable<
    BaseLanguageModelInput,
    { raw: BaseMessage; parsed: TOutput },
    ChatDecodekitCallOptions
  >;

  // oxlint-disable-next-line typescript/no-explicit-any -- same constraint as BaseChatModel.withStructuredOutput: `any` lets interface types (no index signature) be outputs
  override withStructuredOutput<TOutput extends Record<string, any> = Record<string, any>>(
    outputSchema: StructuredSchema<TOutput>,
    config?: StructuredOutputMethodOptions<boolean>,
  ):
    | Runnable<BaseLanguageModelInput, TOutput, ChatDecodekitCallOptions>
    | Runnable<
        BaseLanguageModelInput,
        { raw: BaseMessage; parsed: TOutput },
        ChatDecodekitCallOptions
      > {
    const method = config?.method ?? 'functionCalling';
    if (method !== 'jsonSchema' && method !== 'jsonMode' && method !== 'functionCalling') {
      throw new InvalidArgumentError({
        argument: 'method',
        message: `"${String(method)}" is not a method: use "functionCalling" (the default), "jsonSchema" or "jsonMode".`,
      });
    }
    const typed = isInteropZodSchema(outputSchema) || isSerializableSchema(outputSchema);
    if (
      !typed &&
      (typeof outputSchema !== 'object' || outputSchema === null || Array.isArray(outputSchema))
    ) {
      throw new InvalidArgumentError({
        argument: 'outputSchema',
        message: 'must be a zod schema, a Standard Schema or a JSON Schema object.',
      });
    }
    const declared = (
      typed ? toJsonSchema(outputSchema as InteropZodType) : outputSchema
    ) as Record<string, unknown>;
    const constraint: JsonSchema =
      method === 'jsonMode' ? { type: 'object' } : normalizeJsonSchema(declared);
    const unsupported = unsupportedSchemaFeatures(constraint);
    if (unsupported.length > 0) {
      throw new InvalidArgumentError({
        argument: 'outputSchema',
        message: `the schema uses what the JSON constraint cannot enforce: ${unsupported.join('; ')}.`,
      });
    }
    const includeRaw = config?.includeRaw ?? false;
    const tracing = { ls_structured_output_format: { kwargs: { method }, schema: declared } };
    if (method === 'functionCalling') {
      // A schema's title names the tool when it is a valid tool name (as ChatOpenAI does for JSON Schema).
      const title = typeof declared.title === 'string' ? declared.title : '';
      const name = config?.name ?? (TOOL_NAME.test(title) ? title : 'extract');
      if (!TOOL_NAME.test(name)) {
        throw new InvalidArgumentError({
          argument: 'name',
          message: `names the tool call and must be 1-64 letters, digits, "_", "-" or ".", got ${JSON.stringify(name)}.`,
        });
      }
      // The call is forced, so its name and wrapper carry no choice: the arguments are decoded exactly as
      // `jsonSchema` decodes the object (same prompt, same tokens) and answered as a call of `name`.
      const llm = this.withConfig({
        responseFormat: { type: 'json_schema', schema: constraint, toolName: name },
        ...tracing,
      } as Partial<ChatDecodekitCallOptions>);
      const validate = typed
        ? createContentParser<TOutput>(outputSchema as InteropZodType<TOutput>)
        : new JsonSchemaOutputParser<TOutput>(declared);
      const parser = RunnableLambda.from(async (message: AIMessage): Promise<TOutput> => {
        const call = message.tool_calls?.find(candidate => candidate.name === name);
        if (!call) {
          throw new OutputParserException(`The model made no "${name}" tool call.`, message.text);
        }
        return validate.parse(JSON.stringify(call.args));
      });
      return assembleStructuredOutputPipeline<TOutput>(
        llm,
        parser,
        includeRaw,
        includeRaw ? 'StructuredOutputRunnable' : 'StructuredOutput',
      ) as Runnable<BaseLanguageModelInput, TOutput, ChatDecodekitCallOptions>;
    }
    const llm = this.withConfig({
      responseFormat: { type: 'json_schema', schema: constraint },
      ...tracing,
    } as Partial<ChatDecodekitCallOptions>);
    const parser = typed
      ? createContentParser<TOutput>(outputSchema as InteropZodType<TOutput>)
      : new JsonSchemaOutputParser<TOutput>(method === 'jsonMode' ? { type: 'object' } : declared);
    // The pipeline forwards call options (temperature, maxTokens...) to the model like any config.
    return assembleStructuredOutputPipeline<TOutput>(
      llm,
      parser,
      includeRaw,
      config?.name ?? (includeRaw ? 'StructuredOutputRunnable' : 'StructuredOutput'),
    ) as Runnable<BaseLanguageModelInput, TOutput, ChatDecodekitCallOptions>;
  }

  /**
   * The decode events of one call, with decodekit errors turned into LangChain's (ContextOverflowError,
   * ModelAbortError with the text so far). The signal is checked before every event, so nothing is yielded
   * after an abort.
   */
  private async *events(
    messages: BaseMessage[],
    callOptions: this['ParsedCallOptions'],
    toolCalls: ToolCallRequest | undefined,
  ): AsyncGenerator<DecodeEvent> {
    const signal = callSignal(callOptions.signal, this.timeout);
    const options = { ...callOptions, signal };
    let text = '';
    try {
      throwIfAborted(signal);
      for await (const event of await this.decode(messages, options, toolCalls)) {
        throwIfAborted(signal);
        if (event.type === 'token') text += event.text;
        yield event;
      }
    } catch (error) {
      throw toLangChainError(error, {
        signal,
        timeout: this.timeout,
        partialOutput: new AIMessageChunk({ content: text }),
      });
    }
  }

  /** The tools of a call when it may call one (bound and `tool_choice` is not `"none"`). */
  private toolCallRequest(options: this['ParsedCallOptions']): ToolCallRequest | undefined {
    const tools = options.tools === undefined ? [] : toToolDefinitions(options.tools);
    const toolChoice = resolveToolChoice(options.tool_choice, tools);
    if (tools.length === 0 || toolChoice === 'none') return undefined;
    return {
      tools,
      toolChoice,
      parallel: options.parallel_tool_calls ?? false,
      format: this.toolCallFormat,
    };
  }

  private async decode(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    toolCalls: ToolCallRequest | undefined,
  ): Promise<AsyncIterable<DecodeEvent>> {
    const history = toChatMessages(messages, { toolCallFormat: this.toolCallFormat });
    const chat = toolCalls
      ? withToolPrompt(history, toolCalls.tools, {
          toolChoice: toolCalls.toolChoice,
          format: toolCalls.format,
        })
      : history;
    const model = await this.loadModel();
    throwIfAborted(options.signal);
    const format = options.responseFormat;
    if (
      format !== undefined &&
      (format?.type !== 'json_schema' ||
        format.schema === undefined ||
        (format.toolName !== undefined && typeof format.toolName !== 'string'))
    ) {
      throw new InvalidArgumentError({
        argument: 'responseFormat',
        message: 'must be { type: "json_schema", schema, toolName? }.',
      });
    }
    return runDecoder({
      model,
      prompt: { messages: chat },
      options: mergeDecodeOptions(this.decodeOptions, options),
      stop: options.stop ?? this.stop,
      signal: options.signal,
      responseSchema: format?.schema,
      toolCalls,
    });
  }

  private responseMetadata(
    done: Extract<DecodeEvent, { type: 'done' }>,
    calledTools = false,
  ): DecodekitResponseMetadata {
    return {
      model: this.modelName,
      model_name: this.modelName,
      model_provider: 'decodekit',
      finish_reason: calledTools ? 'tool_calls' : finishReason(done.reason),
      decodekit_finish_reason: done.reason,
      decodekit_stats: done.stats,
    };
  }
}

/** A fresh id for a tool call (OpenAI-style `call_` + 24 hex digits). */
function newToolCallId(): string {
  return `call_${randomHex(24)}`;
}

/** Usage of one generation: prompt ids as fed (BOS and chat template included) and generated ids (EOS included). */
export function usageOf(done: Extract<DecodeEvent, { type: 'done' }>): UsageMetadata {
  const input = done.promptTokens.length;
  const output = done.tokens.length;
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}

function tokenUsage(usage: UsageMetadata | undefined): Record<string, unknown> | undefined {
  if (!usage) return undefined;
  return {
    tokenUsage: {
      promptTokens: usage.input_tokens,
      completionTokens: usage.output_tokens,
      totalTokens: usage.total_tokens,
    },
  };
}
