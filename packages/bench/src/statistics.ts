import { InvalidArgumentError, seededRandom } from '@decodekit/core';

/** Median of `values` (the mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Arithmetic mean of `values`; NaN when empty. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** Rounds to `digits` decimals for reports (keeps JSON small and diffs readable). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A paired comparison of two runs over the same items (see {@link pairedBootstrap}). */
export interface PairedDifference {
  /** Items compared. */
  readonly n: number;
  /** Mean of the per-item differences `treatment[i] − control[i]`. */
  readonly mean: number;
  /** The percentile bootstrap interval of that mean: lower bound. */
  readonly low: number;
  /** Upper bound of the interval. */
  readonly high: number;
  /** Items where the treatment is higher, lower, equal. */
  readonly positive: number;
  readonly negative: number;
  readonly ties: number;
}

/** Options of {@link pairedBootstrap}. */
export interface PairedBootstrapOptions {
  /** Bootstrap resamples. Default 10,000. */
  draws?: number;
  /** Seed of the resampling (`seededRandom`). Default 0. */
  seed?: number;
  /** Coverage of the interval, in (0, 1). Default 0.95. */
  level?: number;
}

/**
 * Paired comparison of two runs that saw the same items (e.g. the same seeded prompt stream): the mean of
 * the per-item differences `treatment[i] − control[i]`, its percentile bootstrap interval (items resampled
 * with replacement, `draws` times, seeded, so a rerun prints the same interval) and the sign count. Identical
 * runs give a mean and interval of exactly 0.
 * @param treatment one value per item
 * @param control one value per item, in the same order
 */
export function pairedBootstrap(
  treatment: readonly number[],
  control: readonly number[],
  { draws = 10_000, seed = 0, level = 0.95 }: PairedBootstrapOptions = {},
): PairedDifference {
  if (treatment.length !== control.length || treatment.length === 0) {
    throw new InvalidArgumentError({
      argument: 'control',
      message: `needs one value per item of treatment (${treatment.length} items, got ${control.length}); pass two non-empty runs over the same items.`,
    });
  }
  if (!Number.isInteger(draws) || draws < 1) {
    throw new InvalidArgumentError({
      argument: 'draws',
      message: `must be a positive integer, got ${String(draws)}.`,
    });
  }
  if (!(level > 0 && level < 1)) {
    throw new InvalidArgumentError({
      argument: 'level',
      message: `must be in (0, 1), e.g. 0.95; got ${String(level)}.`,
    });
  }
  const differences = treatment.map((value, i) => value - control[i]);
  if (differences.some(difference => !Number.isFinite(difference))) {
    throw new InvalidArgumentError({
      argument: 'treatment',
      message: 'every value of both runs must be a finite number.',
    });
  }
  const n = differences.length;
  const random = seededRandom(seed);
  const means = new Float64Array(draws);
  for (let draw = 0; draw < draws; draw++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[Math.floor(random.next() * n)];
    means[draw] = sum / n;
  }
  means.sort();
  const tail = (1 - level) / 2;
  return {
    n,
    mean: mean(differences),
    low: quantile(means, tail),
    high: quantile(means, 1 - tail),
    positive: differences.filter(difference => difference > 0).length,
    negative: differences.filter(difference => difference < 0).length,
    ties: differences.filter(difference => difference === 0).length,
  };
}

/** The `q` quantile of ascending `sorted`, linearly interpolated between order statistics (R's type 7). */
function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (at - below);
}
