import { InvalidArgumentError, type LogitsProcessor } from '@decodekit/core';

/** Options of `trainingNgramBlocker`. */
export interface TrainingNgramBlockerOptions {
  /** The fine-tuning sequences (token ids) whose n-grams must not be reproduced. */
  sequences: readonly (readonly number[])[];
  /** n-gram length. Default 4. */
  n?: number;
}

/**
 * Hyperfitting's blocker (Carlsson et al., 2024, "The Hyperfitting Phenomenon", https://arxiv.org/abs/2412.04318):
 * a hyperfitted model has seen its training sequences until it could recite them; the paper blocks those
 * sequences during generation and reports that the output keeps its quality. This processor sets to −∞ every
 * token that would complete an n-gram occurring in the training sequences, so the output never contains one
 * (whatever the sampler). The n-grams are indexed once: key = the n − 1 preceding tokens.
 *
 * @example
 * createDecoder({ model: hyperfitted }).use(trainingNgramBlocker({ sequences: trainingSet, n: 4 }))
 */
export function trainingNgramBlocker(
  options: TrainingNgramBlockerOptions,
): LogitsProcessor<readonly number[]> {
  const { sequences, n = 4 } = options ?? ({} as TrainingNgramBlockerOptions);
  if (!Number.isInteger(n) || n < 2) {
    throw new InvalidArgumentError({
      argument: 'n',
      message: `must be an integer ≥ 2 (the n-gram length), got ${String(n)}.`,
    });
  }
  if (!Array.isArray(sequences) || !sequences.every(s => Array.isArray(s))) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: 'must be an array of token-id arrays (the fine-tuning sequences).',
    });
  }
  const next = new Map<string, Set<number>>();
  for (const sequence of sequences) {
    for (let end = n - 1; end < sequence.length; end++) {
      const key = sequence.slice(end - n + 1, end).join(',');
      let tokens = next.get(key);
      if (!tokens) next.set(key, (tokens = new Set()));
      tokens.add(sequence[end]);
    }
  }
  const keep = n - 1;
  return {
    name: `training-ngram-blocker(${n})`,
    init: prefix => prefix.slice(Math.max(0, prefix.length - keep)),
    advance: (state, token) => {
      const out = state.length < keep ? [...state, token] : [...state.slice(1), token];
      return out;
    },
    process(logits, state) {
      if (state.length < keep) return;
      const banned = next.get(state.join(','));
      if (banned) for (const token of banned) logits[token] = -Infinity;
    },
  };
}

/** Type-token ratio of words: distinct / total whitespace-separated words (lower-cased); 0 for no words. */
export function typeTokenRatio(text: string): number {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  return words.length === 0 ? 0 : new Set(words).size / words.length;
}

/**
 * rep-n: the share of a token sequence's n-grams that occurred earlier in the same sequence (Welleck et al.'s
 * sequence-level repetition; 0 = no n-gram repeats, → 1 = a loop).
 */
export function repetitionOfNgrams(tokens: readonly number[], n: number): number {
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError({
      argument: 'n',
      message: `must be a positive integer, got ${n}.`,
    });
  const total = tokens.length - n + 1;
  if (total <= 0) return 0;
  const seen = new Set<string>();
  let repeated = 0;
  for (let i = 0; i < total; i++) {
    const key = tokens.slice(i, i + n).join(',');
    if (seen.has(key)) repeated++;
    else seen.add(key);
  }
  return repeated / total;
}

/** Entropy (nats) of the softmax of one logits row. */
export function entropyOfLogits(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logSum = Math.log(sum);
  let entropy = 0;
  for (let i = 0; i < logits.length; i++) {
    const logP = logits[i] - max - logSum;
    if (Number.isFinite(logP)) entropy -= Math.exp(logP) * logP;
  }
  return entropy;
}

/**
 * The lowest mean next-token loss (nats) any model can reach on `sequences` when it predicts each token from the
 * whole prefix before it: the empirical conditional entropy `−log(count(prefix + token) / count(prefix))` averaged
 * over every predicted position (each sequence's tokens after its first). Zero only when no two sequences share a
 * prefix and then differ; sampled stories that start alike ("Once upon a time, …") branch, so memorizing them
 * perfectly still leaves this loss. Hyperfitting's "near-zero training loss" is the loss reaching this floor.
 * @param sequences training sequences (token ids, each ≥ 2 tokens)
 * @throws InvalidArgumentError when no sequence has a token to predict
 */
export function memorizationFloor(sequences: readonly (readonly number[])[]): number {
  const counts = new Map<string, number>();
  for (const sequence of sequences)
    for (let t = 1; t <= sequence.length; t++) {
      const key = sequence.slice(0, t).join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  let loss = 0;
  let positions = 0;
  for (const sequence of sequences) {
    let prefix = String(sequence[0]);
    for (let t = 1; t < sequence.length; t++) {
      const next = `${prefix},${sequence[t]}`;
      loss -= Math.log((counts.get(next) ?? 0) / (counts.get(prefix) ?? 1));
      positions++;
      prefix = next;
    }
  }
  if (positions === 0)
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: 'need at least one sequence of 2 or more tokens.',
    });
  return loss / positions;
}
