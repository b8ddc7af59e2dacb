import { InvalidArgumentError } from '@decodekit/core';

/** Scores one draft token from the target's final hidden state at the draft token's row. */
export interface JudgeHead {
  /** Width of the hidden state it reads. */
  readonly inputSize: number;
  /** Probability in [0, 1] that the draft token is an acceptable continuation. `hidden` is [inputSize]. */
  score(hidden: Float32Array): number;
}

/** A linear (logistic) judge head as plain JSON. */
export interface LinearJudgeHeadJSON {
  /** w [inputSize], applied to the standardized hidden state. */
  weights: number[];
  bias: number;
  /** Per-feature mean and standard deviation used to standardize the hidden state. */
  mean: number[];
  std: number[];
}

/** A linear judge head: σ(w · (h − mean) / std + b). */
export interface LinearJudgeHead extends JudgeHead {
  toJSON(): LinearJudgeHeadJSON;
}

/**
 * A linear judge head (Judge Decoding's head is one linear layer over the target's embedding of the draft
 * token): `σ(w · ((h − mean) / std) + b)`.
 * @param json weights, bias and standardization of the head
 */
export function linearJudgeHead(json: LinearJudgeHeadJSON): LinearJudgeHead {
  const { weights, bias, mean, std } = json ?? ({} as LinearJudgeHeadJSON);
  if (!Array.isArray(weights) || weights.length === 0 || !weights.every(Number.isFinite)) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'must be a non-empty array of finite numbers.',
    });
  }
  const size = weights.length;
  if (!Array.isArray(mean) || mean.length !== size || !Array.isArray(std) || std.length !== size) {
    throw new InvalidArgumentError({
      argument: 'mean/std',
      message: `must be arrays of ${size} numbers, like weights.`,
    });
  }
  if (!std.every(value => Number.isFinite(value) && value > 0) || !mean.every(Number.isFinite)) {
    throw new InvalidArgumentError({
      argument: 'std',
      message: 'every mean must be finite and every std finite and > 0.',
    });
  }
  if (!Number.isFinite(bias))
    throw new InvalidArgumentError({ argument: 'bias', message: `must be finite, got ${bias}.` });
  const w = Float64Array.from(weights);
  const m = Float64Array.from(mean);
  const s = Float64Array.from(std);
  return {
    inputSize: size,
    score(hidden) {
      if (hidden.length !== size) {
        throw new InvalidArgumentError({
          argument: 'hidden',
          message: `the judge head reads ${size} features but got ${hidden.length}: fit it on the target model you decode with.`,
        });
      }
      let z = bias;
      for (let i = 0; i < size; i++) z += (w[i] * (hidden[i] - m[i])) / s[i];
      return 1 / (1 + Math.exp(-z));
    },
    toJSON: () => ({ weights: Array.from(w), bias, mean: Array.from(m), std: Array.from(s) }),
  };
}

/** One training example: a hidden state and whether its draft token was acceptable. */
export interface JudgeSample {
  features: Float32Array;
  label: 0 | 1;
}

/** Options of `fitJudgeHead()`. */
export interface FitJudgeHeadOptions {
  /** L2 penalty on the weights (not the bias). Default 1. */
  l2?: number;
  /** Newton (IRLS) iterations. Default 25. */
  iterations?: number;
}

/**
 * Fits a linear judge head by L2-regularized logistic regression (Newton / IRLS on standardized features).
 * @param samples labelled hidden states, all of one width
 * @param options regularization and iterations
 */
export function fitJudgeHead(
  samples: readonly JudgeSample[],
  options: FitJudgeHeadOptions = {},
): LinearJudgeHead {
  const { l2 = 1, iterations = 25 } = options;
  if (!Array.isArray(samples) || samples.length < 2) {
    throw new InvalidArgumentError({
      argument: 'samples',
      message: 'need at least 2 labelled samples to fit a judge head.',
    });
  }
  if (!(l2 >= 0) || !Number.isFinite(l2))
    throw new InvalidArgumentError({ argument: 'l2', message: `must be ≥ 0, got ${l2}.` });
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new InvalidArgumentError({
      argument: 'iterations',
      message: `must be a positive integer, got ${iterations}.`,
    });
  }
  const d = samples[0].features.length;
  if (!samples.every(sample => sample.features.length === d)) {
    throw new InvalidArgumentError({
      argument: 'samples',
      message: 'every sample must have the same number of features.',
    });
  }
  const n = samples.length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const { features } of samples) for (let j = 0; j < d; j++) mean[j] += features[j] / n;
  for (const { features } of samples)
    for (let j = 0; j < d; j++) std[j] += (features[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  // x = [standardized features, 1]; parameters beta = [w, b].
  const p = d + 1;
  const x = samples.map(({ features }) => {
    const row = new Float64Array(p);
    for (let j = 0; j < d; j++) row[j] = (features[j] - mean[j]) / std[j];
    row[d] = 1;
    return row;
  });
  const beta = new Float64Array(p);
  for (let iteration = 0; iteration < iterations; iteration++) {
    const gradient = new Float64Array(p);
    const hessian = Array.from({ length: p }, () => new Float64Array(p));
    for (let i = 0; i < n; i++) {
      const row = x[i];
      let z = 0;
      for (let j = 0; j < p; j++) z += beta[j] * row[j];
      const mu = 1 / (1 + Math.exp(-z));
      const weight = Math.max(mu * (1 - mu), 1e-9);
      const residual = mu - samples[i].label;
      for (let j = 0; j < p; j++) {
        gradient[j] += residual * row[j];
        const wj = weight * row[j];
        for (let k = 0; k <= j; k++) hessian[j][k] += wj * row[k];
      }
    }
    for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) hessian[k][j] = hessian[j][k];
    for (let j = 0; j < d; j++) {
      gradient[j] += l2 * beta[j];
      hessian[j][j] += l2;
    }
    hessian[d][d] += 1e-9;
    const step = solve(hessian, gradient);
    let change = 0;
    for (let j = 0; j < p; j++) {
      beta[j] -= step[j];
      change = Math.max(change, Math.abs(step[j]));
    }
    if (change < 1e-8) break;
  }
  return linearJudgeHead({
    weights: Array.from(beta.subarray(0, d)),
    bias: beta[d],
    mean: Array.from(mean),
    std: Array.from(std),
  });
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is copied). */
function solve(matrix: Float64Array[], vector: Float64Array): Float64Array {
  const n = vector.length;
  const a = matrix.map(row => Float64Array.from(row));
  const b = Float64Array.from(vector);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++)
      if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) pivot = row;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [b[col], b[pivot]] = [b[pivot], b[col]];
    const diagonal = a[col][col] || 1e-12;
    for (let row = col + 1; row < n; row++) {
      const factor = a[row][col] / diagonal;
      if (factor === 0) continue;
      for (let k = col; k < n; k++) a[row][k] -= factor * a[col][k];
      b[row] -= factor * b[col];
    }
  }
  const x = new Float64Array(n);
  for (let row = n - 1; row >= 0; row--) {
    let sum = b[row];
    for (let k = row + 1; k < n; k++) sum -= a[row][k] * x[k];
    x[row] = sum / (a[row][row] || 1e-12);
  }
  return x;
}

/** Area under the ROC curve of `scores` for binary `labels` (ties count half). */
export function rocAuc(scores: readonly number[], labels: readonly (0 | 1)[]): number {
  const order = scores
    .map((score, i) => ({ score, label: labels[i] }))
    .sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j].score === order[i].score) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++)
      if (order[k].label === 1) {
        rankSum += rank;
        positives++;
      }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
