/** Deterministic toy models shared by strategy tests: Markov chains, cycles and chaotic maps over a small vocabulary. */
import { mockModel } from '@decodekit/core';
import type { MockModel } from '@decodekit/core';

/** A 32-bit integer hash of a few numbers (deterministic across engines). */
export function mix(...values: number[]): number {
  let hash = 0x9e3779b9;
  for (const value of values) {
    hash = Math.imul(hash ^ value, 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
  }
  return hash >>> 0;
}

/** Uniform in [0, 1) from a hash. */
export function unit(...values: number[]): number {
  return mix(...values) / 4294967296;
}

/**
 * A model whose next-token logits depend only on the last `order` tokens: a finite-state source, so
 * greedy output falls into a loop and copy drafters get accepted (τ > 1).
 */
export function markovModel({
  vocabSize = 16,
  order = 2,
  seed = 1,
  sharpness = 4,
  tree = true,
  eosTokenIds,
}: {
  vocabSize?: number;
  order?: number;
  seed?: number;
  sharpness?: number;
  tree?: boolean;
  eosTokenIds?: number[];
} = {}): MockModel {
  return mockModel({
    vocabSize,
    tree,
    eosTokenIds,
    name: `markov(${order})`,
    logits: context => {
      const tail = context.slice(-order);
      const logits = new Float32Array(vocabSize);
      for (let token = 0; token < vocabSize; token++)
        logits[token] = sharpness * unit(seed, token, ...tail);
      return logits;
    },
  });
}

/** Next token = (last + step) mod period, strongly peaked: the easiest case for every drafter. */
export function cyclicModel({
  vocabSize = 12,
  period = 7,
  step = 1,
}: { vocabSize?: number; period?: number; step?: number } = {}): MockModel {
  return mockModel({
    vocabSize,
    name: 'cyclic',
    logits: context => {
      const last = context[context.length - 1];
      const logits = new Float32Array(vocabSize);
      for (let token = 0; token < vocabSize; token++) logits[token] = unit(7, token, last);
      logits[(last + step) % period] += 5;
      return logits;
    },
  });
}

/** Logits depend on the whole context and its length: no repetition, drafts rarely accepted. */
export function chaoticModel({
  vocabSize = 24,
  seed = 3,
}: { vocabSize?: number; seed?: number } = {}): MockModel {
  return mockModel({
    vocabSize,
    name: 'chaotic',
    logits: context => {
      let state = seed ^ context.length;
      for (const token of context) state = mix(state, token);
      const logits = new Float32Array(vocabSize);
      for (let token = 0; token < vocabSize; token++) logits[token] = 3 * unit(state, token);
      return logits;
    },
  });
}
