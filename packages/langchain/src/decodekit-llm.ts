import { throwIfAborted, type DecodeEvent } from '@decodekit/core';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import {
  LLM,
  type BaseLLMCallOptions,
  type BaseLLMParams,
} from '@langchain/core/language_models/llms';
import { GenerationChunk, type Generation, type LLMResult } from '@langchain/core/outputs';
import { usageOf } from './chat-decodekit.js';
import type { Serializable } from '@langchain/core/load/serializable';
import { callSignal, stampRetryability } from './call-policy.js';
import { isSerializableModel, SERIALIZABLE_KEYS, serializableAttributes } from './serialization.js';
import { mergeDecodeOptions, type DecodekitDecodeOptions } from './decode-options.js';
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
import { finishReason, runDecoder } from './run-decoder.js';
import { toLangChainError } from './to-langchain-error.js';

/** Constructor fields of {@link DecodekitLLM}. */
export interface DecodekitLLMInput extends BaseLLMParams, DecodekitInstanceInput {
  /** Prepend BOS as the model was trained (default true). */
  addSpecialTokens?: boolean;
}

/** Call options of {@link DecodekitLLM}: every decode option can be changed for one call. */
export interface DecodekitLLMCallOptions extends BaseLLMCallOptions, DecodekitDecodeOptions {}

// The settings both classes share are declared once: their fields in DecodekitInstanceFields (set by
// initInstanceFields), their accessors and methods in DecodekitInstanceMembers (copied onto the prototype
// by the class's static block); this merge gives the class their types.
// oxlint-disable-next-line typescript/no-unsafe-declaration-merging -- the merged members exist: fields set in the constructor, members copied by applyInstanceMembers
export interface DecodekitLLM extends DecodekitInstanceFields, DecodekitInstanceMembers {}

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

  static {
    applyInstanceMembers(this);
  }

  /** Prepend BOS as the model was trained (default true). */
  addSpecialTokens: boolean;

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
    initInstanceFields(this, fields);
    this.addSpecialTokens = fields.addSpecialTokens ?? true;
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

  _llmType(): string {
    return 'decodekit';
  }

  override invocationParams(options?: this['ParsedCallOptions']): Record<string, unknown> {
    return invocationParamsOf(this, options);
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
