import { createDecoder, type CausalLM } from '@decodekit/core';

/**
 * Superposed decoding's n-gram corpus when none is at hand: stories sampled from the model itself (from BOS,
 * T = 1, seeds 0..stories-1, ≤ maxTokens tokens), as token ids with the prompt.
 */
export async function selfGeneratedCorpus(
  model: CausalLM,
  {
    stories = 200,
    maxTokens = 256,
    signal,
  }: { stories?: number; maxTokens?: number; signal?: AbortSignal } = {},
): Promise<number[][]> {
  const decoder = createDecoder({ model });
  const documents: number[][] = [];
  for (let seed = 0; seed < stories; seed++) {
    const prompt = [model.info.bosTokenId ?? 1];
    const { tokens } = await decoder.generate(
      { tokens: prompt },
      { maxTokens, temperature: 1, seed, signal },
    );
    documents.push([...prompt, ...tokens]);
  }
  return documents;
}
