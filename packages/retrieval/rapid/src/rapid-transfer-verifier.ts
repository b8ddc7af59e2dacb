import { InvalidArgumentError, rejectionSampling, sampleFromProbabilities } from '@decodekit/core';
import type { Verifier, VerifierStep } from '@decodekit/core';

/** Options of `rapidTransferVerifier()`. */
export interface RapidTransferOptions {
  /** Knowledge-transfer strength m (`speculative_margin`; the paper's eval uses 0.1). 0 = exact speculative sampling. Default 0.1. */
  readonly margin?: number;
  /** Mask threshold α: only tokens with q ≥ α·max q are moved (`spec_alpha`). Default 0.1. */
  readonly alpha?: number;
}

/**
 * The retrieval-augmented target distribution p̃ of one node: with the target's processed p and the RAG
 * drafter's q, g = p − q, M = [q ≥ α·max q], p̃ = softmax(log p − m·(g ⊙ M)). Written into a new array.
 */
export function retrievalAugmentedTarget(
  p: Float32Array,
  q: Float32Array,
  margin: number,
  alpha: number,
): Float32Array {
  let maxQ = 0;
  for (let i = 0; i < q.length; i++) if (q[i] > maxQ) maxQ = q[i];
  const threshold = alpha * maxQ;
  const logits = new Float32Array(p.length);
  let max = -Infinity;
  for (let i = 0; i < p.length; i++) {
    logits[i] = Math.log(p[i]) - (q[i] >= threshold ? margin * (p[i] - q[i]) : 0);
    if (logits[i] > max) max = logits[i];
  }
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += logits[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < p.length; i++) logits[i] /= sum;
  return logits;
}

/**
 * RAPID's verifier with "retrieval-augmented target distribution" knowledge transfer (the official code's
 * `_speculative_sampling`): the first draft child x is accepted with probability min(1, p̃(x) / q(x)); on
 * rejection the token is drawn from norm(max(p − q, p − p̃, 0)). With `margin` 0 this is exactly speculative
 * sampling; with `margin` > 0 the output leans towards the RAG drafter's distribution and no longer follows
 * the target (lossy, by design). Needs sampled drafts with distributions (`rapidDrafter({ temperature > 0 })`);
 * at temperature 0, or for a node without q, it falls back to the exact verifier. Only the first child of a node
 * is tried (RAPID drafts chains).
 */
export function rapidTransferVerifier({
  margin = 0.1,
  alpha = 0.1,
}: RapidTransferOptions = {}): Verifier {
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0) {
    throw new InvalidArgumentError({
      argument: 'margin',
      message: `must be a finite number >= 0, got ${String(margin)}`,
    });
  }
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) {
    throw new InvalidArgumentError({
      argument: 'alpha',
      message: `must be in [0, 1], got ${String(alpha)}`,
    });
  }
  const exact = rejectionSampling();
  return {
    name: margin === 0 ? 'rapid(exact)' : `rapid(m=${margin})`,
    lossless: margin === 0,
    step(args: VerifierStep) {
      const { probabilities: p, q, childTokens, random } = args;
      if (args.greedy || !q || childTokens.length === 0) return exact.step(args);
      const x = childTokens[0];
      const adjusted = retrievalAugmentedTarget(p, q, margin, alpha);
      if (q[x] > 0 && random.next() < Math.min(1, adjusted[x] / q[x])) return 0;
      const residual = new Float32Array(p.length);
      let total = 0;
      for (let i = 0; i < p.length; i++)
        total += residual[i] = Math.max(p[i] - q[i], p[i] - adjusted[i], 0);
      if (!(total > 0)) return { token: sampleFromProbabilities(p, random) };
      for (let i = 0; i < p.length; i++) residual[i] /= total;
      return { token: sampleFromProbabilities(residual, random) };
    },
  };
}
