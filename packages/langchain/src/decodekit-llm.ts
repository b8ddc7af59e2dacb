import {
  InvalidArgumentError,
  throwIfAborted,
  type DecodeEvent,
  type LoadedModel,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import {
  LLM,
  type BaseLLMCallOptions,
  type BaseLLMParams,
} from '@langchain/core/language_models/llms';
import { GenerationChunk, type Generation, type LLMResult } from '@langchain/core/outputs';
import {
  cacheKeyParameters,
  describeInvocation,
  keyedCallOptions,
  usageOf,
} from './chat-decodekit.js';
import type { Serializable } from '@langchain/core/load/serializable';
import { callSignal, stampRetryability, validateCallPolicy } from './call-policy.js';
import { isSerializableModel, SERIALIZABLE_KEYS, serializableAttributes } from './serialization.js';
import {
  DEFAULT_MAX_TOKENS,
  mergeDecodeOptions,
  pickDecodeOptions,
  validateDecodeOptions,
  type DecodekitDecodeOptions,
} from './decode-options.js';
import {
  DEFAULT_MODEL,
  resolveModel,
  validateModelInput,
  type DecodekitModelInput,
} from './resolve-model.js';
import { finishReason, runDecoder } from './run-decoder.js';
import { toLangChainError } from './to-langchain-error.js';

/** Constructor fields of {@link DecodekitLLM}. */
export interface DecodekitLLMInput extends BaseLLMParams, DecodekitDecodeOptions {
  /** A hub id or folder for `loadModel` (Node), or a `LoadedModel`. Default `karpathy/tinyllamas/stories260K`. */
  model?: DecodekitModelInput;
  /** Stop strings applied to every call unless the call passes its own `stop`. */
  stop?: string[];
  /** Another name for `stop`. */
  stopSequences?: string[];
  /** Prepend BOS as the model was trained (default true). */
  addSpecialTokens?: boolean;
  /** Abort every call that runs longer than this many milliseconds (ModelAbortError). */
  timeout?: number;
}

/** Call options of {@link DecodekitLLM}: every decode option can be changed for one call. */
export interface DecodekitLLMCallOptions extends BaseLLMCallOptions, DecodekitDecodeOptions {}

/**
 * A LangChain text-completion LLM (string in, string out) over a local decodekit model: the prompt is
 * continued as plain text, no chat template. Streams token by token, honours stop strings and AbortSignal,
 * and reports token usage in `llmOutput.tokenUsage` and each generation's `generationInfo`.
 *
 * @example
 * const llm = new DecodekitLLM({ maxTokens: 48 });
 * const story = await llm.invoke('Once upon a time');
 */
export class DecodekitLLM extends LLM<DecodekitLLMCallOptions> {
  static lc_name(): string {
    return 'DecodekitLLM';
  }

  model: DecodekitModelInput;

  stop?: string[];

  addSpecialTokens: boolean;

  /** Abort every call that runs longer than this many milliseconds (ModelAbortError). */
  timeout?: number;

  /** 0 decodes greedily (default); > 0 samples. Set it to change later calls. */
  temperature: number;

  /** Most tokens generated per call (EOS included). Default 256. */
  maxTokens: number;

  /** Keep the k most likely tokens (sampling only). */
  topK?: number;

  /** Nucleus sampling threshold in (0, 1] (sampling only). */
  topP?: number;

  /** Drop tokens below minP × the top probability (sampling only). */
  minP?: number;

  /** Locally typical sampling mass in (0, 1] (sampling only). */
  typicalP?: number;

  /** Hugging Face repetition penalty (1 = off). */
  repetitionPenalty?: number;

  /** OpenAI presence penalty over generated tokens. */
  presencePenalty?: number;

  /** OpenAI frequency penalty over generated tokens. */
  frequencyPenalty?: number;

  /** Ban repeating any n-gram of this size. */
  noRepeatNgramSize?: number;

  /** Seed of the sampler (same seed, same output). */
  seed?: number;

  /** The decoding strategy (default autoregressive). */
  strategy?: Strategy;

  /** Extra logits processors, applied before the sampling options' own. */
  processors?: readonly LogitsProcessor<unknown>[];

  private loaded?: Promise<LoadedModel>;

  lc_serializable = true;

  /** Constructor fields that serialize (secrets such as a stray `apiKey`, callbacks and caches do not). */
  get lc_serializable_keys(): string[] {
    return [...SERIALIZABLE_KEYS, 'addSpecialTokens'];
  }

  /** The current value of every serializable setting, also those set after construction. */
  get lc_attributes(): Serializable['lc_kwargs'] {
    return serializableAttributes(this, [...SERIALIZABLE_KEYS, 'addSpecialTokens']);
  }

  /**
   * @param modelOrFields A hub id or folder (loaded on the first call through `@decodekit/backend-onnx`'s
   *   `loadModel`), or the constructor fields.
   * @param rest The other constructor fields when the first argument is the model.
   */
  constructor(
    modelOrFields: string | DecodekitLLMInput = {},
    rest: Omit<DecodekitLLMInput, 'model'> = {},
  ) {
    const fields: DecodekitLLMInput =
      typeof modelOrFields === 'string' ? { ...rest, model: modelOrFields } : modelOrFields;
    super(fields);
    const model = fields.model ?? DEFAULT_MODEL;
    validateModelInput(model);
    this.model = model;
    const stop = fields.stop ?? fields.stopSequences;
    if (stop !== undefined && !Array.isArray(stop)) {
      throw new InvalidArgumentError({ argument: 'stop', message: 'must be an array of strings.' });
    }
    this.stop = stop;
    this.addSpecialTokens = fields.addSpecialTokens ?? true;
    validateCallPolicy(fields);
    this.timeout = fields.timeout;
    this.temperature = fields.temperature ?? 0;
    this.maxTokens = fields.maxTokens ?? DEFAULT_MAX_TOKENS;
    Object.assign(this, pickDecodeOptions(fields));
    validateDecodeOptions({ ...this.decodeOptions, stop: this.stop });
  }

  /**
   * LangChain serialization (`load()` revives it with `importMap`). Settings that are code — a `LoadedModel`,
   * processors, a strategy — cannot be written as data, so such an instance serializes as `not_implemented`
   * rather than as a model that would decode differently.
   */
  override toJSON(): ReturnType<LLM['toJSON']> {
    if (!isSerializableModel(this)) return this.toJSONNotImplemented();
    return super.toJSON();
  }

  /** Another name for `stop`. */
  get stopSequences(): string[] | undefined {
    return this.stop;
  }

  set stopSequences(stop: string[] | undefined) {
    this.stop = stop;
  }

  /** Decode settings of this instance, read from its fields (call options override them). */
  get decodeOptions(): DecodekitDecodeOptions {
    return pickDecodeOptions(this);
  }

  /** The model name reported in tracing and generation info. */
  get modelName(): string {
    return typeof this.model === 'string' ? this.model : this.model.info.name;
  }

  _llmType(): string {
    return 'decodekit';
  }

  /** Loads the model on first use (once per process for a name; see `disposeSharedModels`). */
  loadModel(): Promise<LoadedModel> {
    if (!this.loaded) {
      const loading = resolveModel(this.model);
      this.loaded = loading;
      // A failed load is forgotten, so a retry (or the next call) loads again.
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  override invocationParams(options?: this['ParsedCallOptions']): Record<string, unknown> {
    return describeInvocation(
      this.modelName,
      mergeDecodeOptions(this.decodeOptions, options),
      options?.stop ?? this.stop,
    );
  }

  /** The instance's part of cache keys: every setting that changes the output. */
  override _identifyingParams(): Record<string, unknown> {
    return {
      ...cacheKeyParameters(this.model, this.decodeOptions, this.stop),
      add_special_tokens: this.addSpecialTokens,
    };
  }

  override _getSerializedCacheKeyParametersForCall(
    options: this['ParsedCallOptions'] & { config?: unknown },
  ): string {
    return super._getSerializedCacheKeyParametersForCall(
      keyedCallOptions(options) as this['ParsedCallOptions'],
    );
  }

  async _call(prompt: string, options: this['ParsedCallOptions']): Promise<string> {
    return (await this.complete(prompt, options)).text;
  }

  override async _generate(
    prompts: string[],
    options: this['ParsedCallOptions'],
  ): Promise<LLMResult> {
    const generations: Generation[][] = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (const prompt of prompts) {
      const generation = await this.complete(prompt, options);
      const usage = generation.generationInfo.usage;
      promptTokens += usage.input_tokens;
      completionTokens += usage.output_tokens;
      generations.push([generation]);
    }
    return {
      generations,
      llmOutput: {
        tokenUsage: {
          promptTokens,
          completionTokens,
          totalTokens: promptTokens + completionTokens,
        },
      },
    };
  }

  override async *_streamResponseChunks(
    prompt: string,
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<GenerationChunk> {
    // Streamed tokens cannot be taken back, so only the model load is retried (`maxRetries`).
    await this.caller.call(async () => {
      try {
        await this.loadModel();
      } catch (error) {
        throw stampRetryability(error);
      }
    });
    for await (const event of this.decode(prompt, options)) {
      if (event.type === 'token' && event.text.length > 0) {
        const chunk = new GenerationChunk({ text: event.text });
        yield chunk;
        await runManager?.handleLLMNewToken(
          event.text,
          undefined,
          undefined,
          undefined,
          undefined,
          { chunk },
        );
      } else if (event.type === 'done') {
        yield new GenerationChunk({ text: '', generationInfo: this.generationInfo(event) });
      }
    }
  }

  /** One whole generation, one attempt of the AsyncCaller (`maxRetries` retries what can succeed again). */
  private async complete(prompt: string, options: this['ParsedCallOptions']) {
    const done = await this.caller.call(async () => {
      try {
        let last: Extract<DecodeEvent, { type: 'done' }> | undefined;
        for await (const event of this.decode(prompt, options))
          if (event.type === 'done') last = event;
        if (!last) throw new Error('decodekit ended without a result.');
        return last;
      } catch (error) {
        throw stampRetryability(error);
      }
    });
    return { text: done.text, generationInfo: this.generationInfo(done) };
  }

  private generationInfo(done: Extract<DecodeEvent, { type: 'done' }>) {
    return {
      model_name: this.modelName,
      finish_reason: finishReason(done.reason),
      decodekit_finish_reason: done.reason,
      usage: usageOf(done),
      decodekit_stats: done.stats,
    };
  }

  /** The decode events of one call; decodekit errors become LangChain's (see `toLangChainError`). */
  private async *decode(
    prompt: string,
    options: this['ParsedCallOptions'],
  ): AsyncGenerator<DecodeEvent> {
    const signal = callSignal(options.signal, this.timeout);
    try {
      throwIfAborted(signal);
      const model = await this.loadModel();
      throwIfAborted(signal);
      const merged = mergeDecodeOptions(this.decodeOptions, options);
      const events = runDecoder({
        model,
        prompt,
        options: merged,
        stop: options.stop ?? this.stop,
        signal,
        addSpecialTokens: this.addSpecialTokens,
      });
      for await (const event of events) {
        throwIfAborted(signal);
        yield event;
      }
    } catch (error) {
      throw toLangChainError(error, { signal, timeout: this.timeout });
    }
  }
}
