import {
  NoSuchModelError,
  type EmbeddingModelV4,
  type ImageModelV4,
  type ProviderV4,
} from '@ai-sdk/provider';
import { InvalidArgumentError, type LoadedModel, type StrategyDescriptor } from '@decodekit/core';
import { randomUUID } from 'node:crypto';
import { DecodekitLanguageModel } from './decodekit-language-model.js';
import { StrategyRegistry, type StrategyFactory } from './strategy-registry.js';

/** Settings of {@link createDecodekit}. */
export interface DecodekitProviderSettings {
  /**
   * Models by id. An id not listed here is loaded by name with `@decodekit/backend-onnx`'s `loadModel`
   * (Node: a folder path or hub id such as `karpathy/tinyllamas/stories260K`), once per provider.
   */
  models?: Readonly<Record<string, LoadedModel>>;
  /**
   * Strategies a call may pick with `providerOptions: { decodekit: { strategy: name } }`.
   * `autoregressive` is always there.
   * @example { 'prompt-lookup': () => speculative({ drafter: promptLookup() }) }
   */
  strategies?: Readonly<Record<string, StrategyFactory>>;
  /**
   * Catalogue strategies a call may also name as `NAME[:key=value,...]` (e.g. `prompt-lookup:maxNgramSize=2`),
   * options checked by core's `parseStrategyOptions`. Default: `@decodekit/catalog`'s `STRATEGY_DESCRIPTORS`;
   * `[]` offers only `strategies`.
   */
  strategyCatalog?: readonly StrategyDescriptor[];
  /** Tokens generated when a call sets no `maxOutputTokens` (capped to the room left in the context). Default 256. */
  defaultMaxTokens?: number;
  /** Provider name reported to the AI SDK. Default `decodekit`. */
  name?: string;
}

/** The decodekit provider: call it with a model id to get an AI SDK language model. */
export interface DecodekitProvider extends ProviderV4 {
  (modelId: string): DecodekitLanguageModel;
  languageModel(modelId: string): DecodekitLanguageModel;
  /** Disposes every model this provider loaded by name (models passed in `models` are yours). */
  dispose(): Promise<void>;
}

/**
 * Creates a Vercel AI SDK provider over decodekit models.
 *
 * @example
 * const decodekit = createDecodekit({ strategies: { 'prompt-lookup': () => speculative({ drafter: promptLookup() }) } });
 * const { text } = await generateText({ model: decodekit('karpathy/tinyllamas/stories260K'), prompt: 'Once upon a time' });
 */
export function createDecodekit(settings: DecodekitProviderSettings = {}): DecodekitProvider {
  const defaultMaxTokens = settings.defaultMaxTokens ?? 256;
  if (!Number.isInteger(defaultMaxTokens) || defaultMaxTokens < 1) {
    throw new InvalidArgumentError({
      argument: 'defaultMaxTokens',
      message: `must be a positive integer, got ${defaultMaxTokens}.`,
    });
  }
  const strategies = new StrategyRegistry(settings.strategies ?? {}, settings.strategyCatalog);
  const loaded = new Map<string, Promise<LoadedModel>>();
  const locks = new WeakMap<LoadedModel, Promise<unknown>>();
  const provider = settings.name ?? 'decodekit';

  const load = (modelId: string): Promise<LoadedModel> => {
    const given = settings.models?.[modelId];
    if (given) return Promise.resolve(given);
    let pending = loaded.get(modelId);
    if (!pending) {
      pending = loadByName(modelId);
      loaded.set(modelId, pending);
      pending.catch(() => loaded.delete(modelId)); // a failed load is tried again next call
    }
    return pending;
  };

  const languageModel = (modelId: string): DecodekitLanguageModel => {
    if (typeof modelId !== 'string' || modelId.length === 0) {
      throw new NoSuchModelError({
        modelId: String(modelId),
        modelType: 'languageModel',
        message: 'decodekit needs a model id: a folder path, a hub id or a key of `models`.',
      });
    }
    return new DecodekitLanguageModel(modelId, {
      provider,
      loadModel: () => load(modelId),
      strategies,
      defaultMaxTokens,
      generateId: () => randomUUID(),
      exclusive(model, run) {
        const previous = locks.get(model) ?? Promise.resolve();
        const next = previous.then(run, run);
        locks.set(
          model,
          next.catch(() => undefined),
        );
        return next;
      },
    });
  };

  const unsupported =
    (modelType: 'embeddingModel' | 'imageModel') =>
    (modelId: string): never => {
      throw new NoSuchModelError({
        modelId,
        modelType,
        message: `decodekit has no ${modelType === 'embeddingModel' ? 'embedding' : 'image'} models.`,
      });
    };

  return Object.assign((modelId: string) => languageModel(modelId), {
    specificationVersion: 'v4' as const,
    languageModel,
    embeddingModel: unsupported('embeddingModel') as (modelId: string) => EmbeddingModelV4,
    imageModel: unsupported('imageModel') as (modelId: string) => ImageModelV4,
    async dispose() {
      const pending = [...loaded.values()];
      loaded.clear();
      const models = await Promise.allSettled(pending);
      await Promise.all(
        models.map(result => (result.status === 'fulfilled' ? result.value.dispose() : undefined)),
      );
    },
  });
}

async function loadByName(ref: string): Promise<LoadedModel> {
  const backend = (await import('@decodekit/backend-onnx')) as {
    loadModel?: (ref: string) => Promise<LoadedModel>;
  };
  if (typeof backend.loadModel !== 'function') {
    throw new InvalidArgumentError({
      argument: 'modelId',
      message: `cannot load "${ref}" by name here: loadModel is Node-only. Load the model yourself and pass it in createDecodekit({ models }).`,
    });
  }
  return backend.loadModel(ref);
}
