import { createDecoder, type CausalLM } from '@decodekit/core';
import { buildAdedStoreFromTokens, type AdedStore } from './aded-store.js';

/** Options of `selfGeneratedAdedStore`. */
export interface SelfGeneratedStoreOptions {
  /** Stories sampled from BOS (seeds 0..stories-1). Default 200. */
  stories?: number;
  /** Tokens per story. Default 256. */
  maxTokens?: number;
  /** Sampling temperature. Default 0.8. */
  temperature?: number;
  signal?: AbortSignal;
  /** Called after each story with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * ADED's store when no corpus is at hand: tri-grams of text the model itself generates (stories sampled from
 * BOS), the self-distillation recipe. Reproducible: the same model and options give the same store.
 */
export async function selfGeneratedAdedStore(
  model: CausalLM,
  options: SelfGeneratedStoreOptions = {},
): Promise<AdedStore> {
  return buildAdedStoreFromTokens(await selfGeneratedStories(model, options));
}

/** The stories behind `selfGeneratedAdedStore`, as token ids (prompt included). */
export async function selfGeneratedStories(
  model: CausalLM,
  {
    stories = 200,
    maxTokens = 256,
    temperature = 0.8,
    signal,
    onProgress,
  }: SelfGeneratedStoreOptions = {},
): Promise<number[][]> {
  const decoder = createDecoder({ model });
  const documents: number[][] = [];
  for (let seed = 0; seed < stories; seed++) {
    const prompt = [model.info.bosTokenId ?? 1];
    const { tokens } = await decoder.generate(
      { tokens: prompt },
      { maxTokens, temperature, seed, signal },
    );
    documents.push([...prompt, ...tokens]);
    onProgress?.(seed + 1, stories);
  }
  return documents;
}
