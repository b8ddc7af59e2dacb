import { mockModel, type MockModel } from '@decodekit/core';

/** Options of the enumerable toy model. */
export interface ToyModelOptions {
  vocabSize?: number;
  seed?: number;
  /** Extra logit for repeating the token seen two steps back, so n-gram and copy drafters fire. */
  copyBias?: number;
  eosTokenIds?: readonly number[];
}

function hash(values: readonly number[], seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const value of values) {
    h ^= value + 0x9e3779b9;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/**
 * A tiny model (vocab ≈ 8) whose next-token logits are a fixed pseudo-random function of the last three
 * tokens: small enough to enumerate every continuation, so a strategy's output distribution can be
 * compared with the exact target joint.
 */
export function toyModel({
  vocabSize = 8,
  seed = 7,
  copyBias = 1.5,
  eosTokenIds = [],
}: ToyModelOptions = {}): MockModel {
  return mockModel({
    name: `toy-${vocabSize}-${seed}`,
    vocabSize,
    eosTokenIds,
    logits(context) {
      const window = context.slice(-3);
      const logits = new Float32Array(vocabSize);
      for (let token = 0; token < vocabSize; token++) {
        logits[token] = ((hash([...window, token], seed) % 10_000) / 10_000) * 3;
      }
      const twoBack = context[context.length - 2];
      if (twoBack !== undefined) logits[twoBack] += copyBias;
      return logits;
    },
  });
}
