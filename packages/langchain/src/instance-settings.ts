import { InvalidArgumentError, type LoadedModel } from '@decodekit/core';
import { validateCallPolicy } from './call-policy.js';
import { modelIdentity, processorIdentities, strategyIdentity } from './cache-key.js';
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

/** Constructor fields `ChatDecodekit` and `DecodekitLLM` share. */
export interface DecodekitInstanceInput extends DecodekitDecodeOptions {
  /** A hub id or folder for `loadModel` (Node), or a `LoadedModel`. Default `karpathy/tinyllamas/stories260K`. */
  model?: DecodekitModelInput;
  /** Stop strings applied to every call unless the call passes its own `stop`. */
  stop?: string[];
  /** Another name for `stop` (as other LangChain models call it). */
  stopSequences?: string[];
  /** Abort every call that runs longer than this many milliseconds (ModelAbortError). */
  timeout?: number;
}

/**
 * The settings `ChatDecodekit` and `DecodekitLLM` keep as instance fields: read on every call, so assigning
 * one (`model.maxTokens = 32`) changes later calls. Both classes merge this interface.
 */
export interface DecodekitInstanceFields extends Omit<
  DecodekitDecodeOptions,
  'temperature' | 'maxTokens'
> {
  /** The model: a hub id or folder (loaded on the first call), or a `LoadedModel`. */
  model: DecodekitModelInput;
  /** Stop strings of every call that passes none. */
  stop?: string[];
  /** Abort every call that runs longer than this many milliseconds (ModelAbortError). */
  timeout?: number;
  /** 0 decodes greedily (default); > 0 samples. */
  temperature: number;
  /** Most tokens generated per call (EOS included). Default 256. */
  maxTokens: number;
}

/**
 * Sets the shared fields of a new instance from its constructor fields, with their defaults, and checks
 * them (in the constructor, where they are given).
 * @throws InvalidArgumentError naming the field.
 */
export function initInstanceFields(
  target: DecodekitInstanceFields,
  fields: DecodekitInstanceInput & { maxRetries?: unknown },
): void {
  const model = fields.model ?? DEFAULT_MODEL;
  validateModelInput(model);
  target.model = model;
  const stop = fields.stop ?? fields.stopSequences;
  if (stop !== undefined && !Array.isArray(stop)) {
    throw new InvalidArgumentError({ argument: 'stop', message: 'must be an array of strings.' });
  }
  target.stop = stop;
  validateCallPolicy(fields);
  target.timeout = fields.timeout;
  target.temperature = fields.temperature ?? 0;
  target.maxTokens = fields.maxTokens ?? DEFAULT_MAX_TOKENS;
  Object.assign(target, pickDecodeOptions(fields));
  validateDecodeOptions({ ...pickDecodeOptions(target), stop: target.stop });
}

/** Each instance's model, loaded on its first call (a failed load is forgotten, so the next call retries). */
const loadedModels = new WeakMap<object, Promise<LoadedModel>>();

/**
 * Members `ChatDecodekit` and `DecodekitLLM` share, written once and copied onto both prototypes by
 * {@link applyInstanceMembers} (the TypeScript handbook's mixin pattern: the classes extend different
 * LangChain bases, and each merges this class's type through its interface).
 */
export class DecodekitInstanceMembers {
  declare model: DecodekitModelInput;
  declare stop?: string[];

  /** Another name for `stop`. */
  get stopSequences(): string[] | undefined {
    return this.stop;
  }

  set stopSequences(stop: string[] | undefined) {
    this.stop = stop;
  }

  /** Decode settings of this instance, read from its fields (call options override them). */
  get decodeOptions(): DecodekitDecodeOptions {
    return pickDecodeOptions(this as DecodekitDecodeOptions);
  }

  /** The model name reported in tracing, `response_metadata` and generation info. */
  get modelName(): string {
    return typeof this.model === 'string' ? this.model : this.model.info.name;
  }

  /** Loads the model on first use (once per process for a name; see `disposeSharedModels`). */
  loadModel(): Promise<LoadedModel> {
    let loaded = loadedModels.get(this);
    if (!loaded) {
      const loading = resolveModel(this.model);
      loaded = loading;
      loadedModels.set(this, loading);
      loading.catch(() => {
        if (loadedModels.get(this) === loading) loadedModels.delete(this);
      });
    }
    return loaded;
  }
}

/** Serializable parameters of a call on `instance` (its settings merged with the call's), for tracing. */
export function invocationParamsOf(
  instance: DecodekitInstanceMembers,
  options: (DecodekitDecodeOptions & { stop?: string[] }) | undefined,
): Record<string, unknown> {
  return describeInvocation(
    instance.modelName,
    mergeDecodeOptions(instance.decodeOptions, options),
    options?.stop ?? instance.stop,
  );
}

/** Copies {@link DecodekitInstanceMembers}' accessors and methods onto a class's prototype. */
export function applyInstanceMembers(target: { prototype: object }): void {
  const source = DecodekitInstanceMembers.prototype;
  for (const name of Object.getOwnPropertyNames(source)) {
    const descriptor = Object.getOwnPropertyDescriptor(source, name);
    if (name !== 'constructor' && descriptor)
      Object.defineProperty(target.prototype, name, descriptor);
  }
}

/** Serializable parameters of a call, for tracing (strategy and processors by name). */
export function describeInvocation(
  modelName: string,
  options: DecodekitDecodeOptions,
  stop: readonly string[] | undefined,
): Record<string, unknown> {
  return {
    model: modelName,
    temperature: options.temperature,
    max_tokens: options.maxTokens,
    top_k: options.topK,
    top_p: options.topP,
    min_p: options.minP,
    typical_p: options.typicalP,
    repetition_penalty: options.repetitionPenalty,
    presence_penalty: options.presencePenalty,
    frequency_penalty: options.frequencyPenalty,
    no_repeat_ngram_size: options.noRepeatNgramSize,
    seed: options.seed,
    stop: stop && stop.length > 0 ? [...stop] : undefined,
    strategy: options.strategy?.name,
    processors: options.processors?.map(processor => processor.name),
  };
}

/**
 * The instance's part of a cache key: the model's identity (hub id with revision, or a loaded model's name,
 * folder and backend), every decode option, the stop strings, and processors and strategy by their cache
 * identity (their own `cacheKey`, else object identity), never by name alone.
 */
export function cacheKeyParameters(
  model: DecodekitModelInput,
  options: DecodekitDecodeOptions,
  stop: readonly string[] | undefined,
): Record<string, unknown> {
  return {
    ...describeInvocation(typeof model === 'string' ? model : model.info.name, options, stop),
    model: modelIdentity(model),
    strategy: strategyIdentity(options.strategy),
    processors: processorIdentities(options.processors),
  };
}

/** Call options with their processors and strategy replaced by cache identities (for the cache key). */
export function keyedCallOptions<TOptions extends DecodekitDecodeOptions>(
  options: TOptions,
): TOptions {
  const keyed: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  if (options.processors !== undefined) keyed.processors = processorIdentities(options.processors);
  if (options.strategy !== undefined) keyed.strategy = strategyIdentity(options.strategy);
  return keyed as TOptions;
}
