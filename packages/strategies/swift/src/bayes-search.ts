import type { RandomSource } from '@decodekit/core';

/** Matérn ν = 5/2 kernel with unit length scale (scikit-learn's default for bayes_opt's GP). */
function matern52(a: Float64Array, b: Float64Array): number {
  let squared = 0;
  for (let i = 0; i < a.length; i++) squared += (a[i] - b[i]) ** 2;
  const r = Math.sqrt(5 * squared);
  return (1 + r + (r * r) / 3) * Math.exp(-r);
}

/** Cholesky factor L (lower, row-major) of a symmetric positive-definite matrix [n, n]. */
function cholesky(matrix: Float64Array, n: number): Float64Array {
  const lower = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = matrix[i * n + j];
      for (let k = 0; k < j; k++) sum -= lower[i * n + k] * lower[j * n + k];
      lower[i * n + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / lower[j * n + j];
    }
  }
  return lower;
}

/** Solves L x = b (forward substitution). */
function solveLower(lower: Float64Array, b: Float64Array, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= lower[i * n + k] * x[k];
    x[i] = sum / lower[i * n + i];
  }
  return x;
}

/** Solves Lᵀ x = b (back substitution). */
function solveUpper(lower: Float64Array, b: Float64Array, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i];
    for (let k = i + 1; k < n; k++) sum -= lower[k * n + i] * x[k];
    x[i] = sum / lower[i * n + i];
  }
  return x;
}

/**
 * The Bayesian optimizer of SWIFT's layer search (the official code uses the `bayes_opt` package: a
 * Gaussian process with a Matérn 5/2 kernel, normalised targets, alpha 1e-6, and the UCB acquisition with
 * κ = 2.5). Points live in [0, 1]^d; `suggest` maximises UCB over random candidates (bayes_opt also polishes
 * the best ones with L-BFGS, which a top-k projection onto layer sets makes moot). Kernel hyperparameters
 * are fixed rather than fitted. At most `maxObservations` recent points condition the GP.
 */
export class BayesSearch {
  private readonly points: Float64Array[] = [];
  private readonly scores: number[] = [];

  constructor(
    readonly dimensions: number,
    private readonly kappa = 2.5,
    private readonly candidates = 2000,
    private readonly maxObservations = 200,
    private readonly alpha = 1e-6,
  ) {}

  /** Observations registered so far. */
  get size(): number {
    return this.points.length;
  }

  /** Records the objective at a point. */
  register(point: Float64Array, score: number): void {
    this.points.push(point);
    this.scores.push(score);
  }

  /** The next point to probe: argmax of mean + κ·std over random candidates (uniform when empty). */
  suggest(random: RandomSource): Float64Array {
    const d = this.dimensions;
    const sample = (): Float64Array => Float64Array.from({ length: d }, () => random.next());
    const start = Math.max(0, this.points.length - this.maxObservations);
    const points = this.points.slice(start);
    const n = points.length;
    if (n === 0) return sample();
    const raw = this.scores.slice(start);
    const mean = raw.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / n) || 1;
    const y = Float64Array.from(raw, value => (value - mean) / std);
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        const value = matern52(points[i], points[j]) + (i === j ? this.alpha : 0);
        gram[i * n + j] = value;
        gram[j * n + i] = value;
      }
    }
    const lower = cholesky(gram, n);
    const weights = solveUpper(lower, solveLower(lower, y, n), n);
    let best = sample();
    let bestValue = -Infinity;
    const kernel = new Float64Array(n);
    for (let c = 0; c < this.candidates; c++) {
      const candidate = c === 0 ? best : sample();
      let mu = 0;
      for (let i = 0; i < n; i++) {
        kernel[i] = matern52(candidate, points[i]);
        mu += kernel[i] * weights[i];
      }
      const v = solveLower(lower, kernel, n);
      let explained = 0;
      for (let i = 0; i < n; i++) explained += v[i] * v[i];
      const sigma = Math.sqrt(Math.max(0, 1 - explained));
      const value = mu + this.kappa * sigma;
      if (value > bestValue) {
        bestValue = value;
        best = candidate;
      }
    }
    return best;
  }
}
