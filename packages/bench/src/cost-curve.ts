import {
  InvalidArgumentError,
  seededRandom,
  type CausalLM,
  type RandomSource,
} from '@decodekit/core';
import { median } from './statistics.js';

/** One point of a cost curve. */
export interface CostPoint {
  /** New chain rows in the forward. */
  readonly k: number;
  /** Median milliseconds of one forward of k rows. */
  readonly ms_median: number;
  /** `ms_median` over the k = 1 median (over the smallest k when 1 is not measured). */
  readonly relative: number;
}

/** Options of {@link measureCostCurve}. */
export interface CostCurveOptions {
  /** Row counts to time. Default [1, 2, 4, 8, 16, 32, 64]. */
  readonly ks?: readonly number[];
  /** Committed prefix the rows attend to (random ids). Default 128. */
  readonly contextTokens?: number;
  /** Timed forwards per k. Default 20. */
  readonly repeats?: number;
  /** Seed of the random ids. Default 0. */
  readonly seed?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_KS = [1, 2, 4, 8, 16, 32, 64];

const now = (): number => performance.now();

/**
 * The cost of verifying k draft tokens: times one forward of k new chain rows after a committed prefix of
 * `contextTokens` random ids, relative to a single-token step. A speculative strategy with mean accepted
 * tokens τ at k draft rows per step can reach at most τ / relative(k) over AR; this curve is what sizes a
 * draft budget for a backend. Repeats are interleaved (each round times every k once, in a shuffled order) so noise is shared.
 */
export async function measureCostCurve(
  model: CausalLM,
  options: CostCurveOptions = {},
): Promise<CostPoint[]> {
  const { ks = DEFAULT_KS, contextTokens = 128, repeats = 20, seed = 0, signal } = options;
  if (ks.length === 0 || ks.some(k => !Number.isInteger(k) || k < 1)) {
    throw new InvalidArgumentError({
      argument: 'ks',
      message: `must be positive integers, got [${ks.join(', ')}].`,
    });
  }
  if (!Number.isInteger(contextTokens) || contextTokens < 1) {
    throw new InvalidArgumentError({
      argument: 'contextTokens',
      message: `must be a positive integer, got ${contextTokens}.`,
    });
  }
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new InvalidArgumentError({
      argument: 'repeats',
      message: `must be a positive integer, got ${repeats}.`,
    });
  }
  const longest = contextTokens + Math.max(...ks);
  if (longest > model.info.contextLength) {
    throw new InvalidArgumentError({
      argument: 'contextTokens',
      message: `${contextTokens} plus k = ${Math.max(...ks)} is ${longest} positions, beyond the model's context of ${model.info.contextLength}.`,
    });
  }

  const random = seededRandom(seed);
  const { vocabSize } = model.info;
  // Ids 0..2 are specials in llama2.c-style vocabularies; keep them out (it does not change the cost).
  const randomIds = (count: number): Int32Array =>
    Int32Array.from({ length: count }, () =>
      Math.min(vocabSize - 1, 3 + Math.floor(random.next() * Math.max(1, vocabSize - 3))),
    );
  const sorted = [...new Set(ks)].sort((a, b) => a - b);
  const inputs = sorted.map(k => randomIds(k));

  const sequence = model.createSequence();
  try {
    await sequence.forward({ tokens: randomIds(contextTokens) }, { signal });
    sequence.commit(Array.from({ length: contextTokens }, (_, i) => i));
    // One untimed forward per k: first-call allocations and kernel selection are not the steady cost.
    for (const tokens of inputs) await sequence.forward({ tokens }, { signal });
    const times = sorted.map((): number[] => []);
    const order = sorted.map((_, index) => index);
    for (let repeat = 0; repeat < repeats; repeat++) {
      // A fresh order each round, so no k always follows the largest one (and its garbage).
      shuffle(order, random);
      for (const index of order) {
        const start = now();
        await sequence.forward({ tokens: inputs[index] }, { signal });
        times[index].push(now() - start);
      }
    }
    const medians = times.map(median);
    return sorted.map((k, index) => ({
      k,
      ms_median: medians[index],
      relative: medians[index] / medians[0],
    }));
  } finally {
    sequence.dispose();
  }
}

/** Fisher–Yates shuffle in place. */
function shuffle(values: number[], random: RandomSource): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
}

/**
 * The relative cost of one forward of `rows` rows on `curve` (a forward of one row = 1): linear between
 * measured k, extended along the last segment beyond the largest k, and the smallest k's cost below it.
 *
 * @throws InvalidArgumentError when the curve is empty or `rows` is not positive
 */
export function relativeCost(curve: readonly CostPoint[], rows: number): number {
  if (curve.length === 0 || !(rows > 0)) {
    throw new InvalidArgumentError({
      argument: curve.length === 0 ? 'curve' : 'rows',
      message:
        curve.length === 0 ? 'the cost curve has no points.' : `must be positive, got ${rows}.`,
    });
  }
  const points = [...curve].sort((a, b) => a.k - b.k);
  if (rows <= points[0].k || points.length === 1) return points[0].relative;
  let upper = points.findIndex(point => point.k >= rows);
  if (upper === -1) upper = points.length - 1;
  const low = points[upper - 1];
  const high = points[upper];
  return low.relative + ((rows - low.k) * (high.relative - low.relative)) / (high.k - low.k);
}

/**
 * The speedup over autoregressive decoding that a strategy could reach on this hardware if drafting and
 * bookkeeping were free: tokens per target forward (τ) over the mean relative cost of the forwards it
 * actually ran, i.e. `tokens / Σ relativeCost(rows)` over its decode-time forwards.
 *
 * @param rowsHistogram decode-time target forwards by row count (`{ "1": 63 }` for AR)
 * @param tau tokens emitted per decode-time target forward
 * @returns null when there were no decode-time forwards
 */
export function speedupCeiling(
  curve: readonly CostPoint[],
  rowsHistogram: Readonly<Record<string, number>>,
  tau: number,
): number | null {
  let forwards = 0;
  let cost = 0;
  for (const [rows, count] of Object.entries(rowsHistogram)) {
    forwards += count;
    cost += count * relativeCost(curve, Number(rows));
  }
  return forwards > 0 && cost > 0 ? (tau * forwards) / cost : null;
}
