import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';

/** What an acceptance head sees about one draft token. */
export interface AcceptanceFeatures {
  /** The draft model's final hidden state at the draft token's position (the token fed in). [hiddenSize] */
  readonly hidden: Float32Array;
  /** Probability the draft gave the token it drafted (1 for greedy drafts). */
  readonly draftProbability: number;
  /** 0-based position of the token in the draft chain. */
  readonly depth: number;
}

/** Predicts the probability that one draft token is accepted, given that every earlier one was. */
export interface AcceptanceHead {
  readonly name: string;
  /** P(accept) in [0, 1]. */
  predict(features: AcceptanceFeatures): number;
}

/** The JSON form of a logistic-regression acceptance head. */
export interface LogisticHeadJSON {
  readonly kind: 'specdec-pp/logistic';
  readonly version: 1;
  /** Length of the hidden state the head was fitted on. */
  readonly hiddenSize: number;
  /** Whether the draft probability is appended as a last feature. */
  readonly withDraftProbability: boolean;
  /** Per-feature mean and scale the inputs are standardised with. [features] */
  readonly mean: number[];
  readonly scale: number[];
  /** Weights over the standardised features. [features] */
  readonly weights: number[];
  readonly bias: number;
}

/** A logistic-regression acceptance head: σ(w · standardise(features) + b). */
export interface LogisticAcceptanceHead extends AcceptanceHead {
  readonly name: 'logistic';
  readonly hiddenSize: number;
  readonly withDraftProbability: boolean;
  /** The head as plain JSON (`parseAcceptanceHead` reads it back). */
  toJSON(): LogisticHeadJSON;
}

/** Builds the feature vector a logistic head uses (before standardisation). */
export function acceptanceFeatureVector(
  features: AcceptanceFeatures,
  withDraftProbability: boolean,
): Float64Array {
  const { hidden } = features;
  const out = new Float64Array(hidden.length + (withDraftProbability ? 1 : 0));
  for (let i = 0; i < hidden.length; i++) out[i] = hidden[i];
  if (withDraftProbability) out[hidden.length] = features.draftProbability;
  return out;
}

const sigmoid = (z: number): number =>
  z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));

/**
 * A logistic acceptance head from its parameters (as produced by `fitLogisticRegression` or read from JSON).
 *
 * @example
 * const head = logisticAcceptanceHead(JSON.parse(readFileSync('head.json', 'utf8')));
 */
export function logisticAcceptanceHead(json: LogisticHeadJSON): LogisticAcceptanceHead {
  if (!json || json.kind !== 'specdec-pp/logistic' || json.version !== 1) {
    throw new ModelFormatError({
      path: 'acceptance head',
      message: `Not a SpecDec++ logistic head (kind "${String(json?.kind)}", version ${String(json?.version)}); expected kind "specdec-pp/logistic", version 1 as written by fitAcceptanceHead().`,
    });
  }
  const size = json.hiddenSize + (json.withDraftProbability ? 1 : 0);
  for (const key of ['mean', 'scale', 'weights'] as const) {
    const values = json[key];
    if (!Array.isArray(values) || values.length !== size || !values.every(Number.isFinite)) {
      throw new ModelFormatError({
        path: 'acceptance head',
        message: `SpecDec++ head: "${key}" must hold ${size} finite numbers.`,
      });
    }
  }
  if (!Number.isFinite(json.bias))
    throw new ModelFormatError({
      path: 'acceptance head',
      message: 'SpecDec++ head: "bias" must be a finite number.',
    });
  const mean = Float64Array.from(json.mean);
  const scale = Float64Array.from(json.scale);
  const weights = Float64Array.from(json.weights);
  return {
    name: 'logistic',
    hiddenSize: json.hiddenSize,
    withDraftProbability: json.withDraftProbability,
    predict(features) {
      if (features.hidden.length !== json.hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'head',
          message: `the acceptance head was fitted on hidden states of size ${json.hiddenSize} but the draft gives ${features.hidden.length}; fit a head for this draft model.`,
        });
      }
      const x = acceptanceFeatureVector(features, json.withDraftProbability);
      let z = json.bias;
      for (let i = 0; i < x.length; i++) z += weights[i] * ((x[i] - mean[i]) / scale[i]);
      return sigmoid(z);
    },
    toJSON: () => ({
      ...json,
      mean: [...json.mean],
      scale: [...json.scale],
      weights: [...json.weights],
    }),
  };
}

/** Reads a head from its JSON text or parsed object. */
export function parseAcceptanceHead(json: string | LogisticHeadJSON): LogisticAcceptanceHead {
  return logisticAcceptanceHead(
    typeof json === 'string' ? (JSON.parse(json) as LogisticHeadJSON) : json,
  );
}

/** Options of `fitLogisticRegression`. */
export interface LogisticFitOptions {
  /**
   * Weight of the "rejected" side of the binary cross-entropy (SpecDec++ weights mismatches 6×). Default 1.
   * Above 1 the head predicts lower acceptance than observed (deliberately pessimistic).
   */
  rejectionWeight?: number;
  /** L2 penalty on the weights (not the bias). Default 1e-3. */
  l2?: number;
  /** Newton (IRLS) iterations at most. Default 50. */
  maxIterations?: number;
  /** Stop when the largest parameter change is below this. Default 1e-7. */
  tolerance?: number;
}

/** Fitted logistic-regression parameters over standardised features. */
export interface LogisticFit {
  readonly mean: number[];
  readonly scale: number[];
  readonly weights: number[];
  readonly bias: number;
  readonly iterations: number;
  /** Final mean weighted loss. */
  readonly loss: number;
}

/**
 * Fits weighted logistic regression by Newton's method (IRLS) on features `x` with targets `y` in [0, 1]
 * (0/1 outcomes or soft acceptance probabilities min(1, p/q)). Loss per sample:
 * −y·log σ − rejectionWeight·(1−y)·log(1−σ), plus l2/2·|w|² over the samples' mean.
 */
export function fitLogisticRegression(
  x: readonly ArrayLike<number>[],
  y: ArrayLike<number>,
  options: LogisticFitOptions = {},
): LogisticFit {
  const { rejectionWeight = 1, l2 = 1e-3, maxIterations = 50, tolerance = 1e-7 } = options;
  const n = x.length;
  if (n === 0 || y.length !== n) {
    throw new InvalidArgumentError({
      argument: 'samples',
      message: `need one target per sample and at least one sample, got ${n} samples and ${y.length} targets.`,
    });
  }
  if (!(rejectionWeight > 0))
    throw new InvalidArgumentError({
      argument: 'rejectionWeight',
      message: `must be > 0, got ${rejectionWeight}.`,
    });
  if (!(l2 >= 0))
    throw new InvalidArgumentError({ argument: 'l2', message: `must be ≥ 0, got ${l2}.` });
  const d = x[0].length;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (const row of x) for (let j = 0; j < d; j++) mean[j] += row[j] / n;
  for (const row of x) for (let j = 0; j < d; j++) scale[j] += (row[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]) || 1;
  // Standardised design matrix with a trailing 1 for the bias.
  const p = d + 1;
  const design = x.map(row => {
    const out = new Float64Array(p);
    for (let j = 0; j < d; j++) out[j] = (row[j] - mean[j]) / scale[j];
    out[d] = 1;
    return out;
  });
  for (let i = 0; i < n; i++) {
    if (!(y[i] >= 0 && y[i] <= 1))
      throw new InvalidArgumentError({
        argument: 'y',
        message: `targets must lie in [0, 1], got ${y[i]} at ${i}.`,
      });
  }
  const theta = new Float64Array(p);
  const lossAt = (t: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < p; j++) z += design[i][j] * t[j];
      // log σ(z) and log(1 − σ(z)) computed stably.
      const logP = -Math.log1p(Math.exp(-Math.abs(z))) + Math.min(z, 0);
      const logQ = logP - z;
      loss -= y[i] * logP + rejectionWeight * (1 - y[i]) * logQ;
    }
    let penalty = 0;
    for (let j = 0; j < d; j++) penalty += t[j] * t[j];
    return loss / n + (l2 / 2) * penalty;
  };
  let loss = lossAt(theta);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const gradient = new Float64Array(p);
    const hessian = new Float64Array(p * p);
    for (let i = 0; i < n; i++) {
      const row = design[i];
      let z = 0;
      for (let j = 0; j < p; j++) z += row[j] * theta[j];
      const s = sigmoid(z);
      const a = y[i] + rejectionWeight * (1 - y[i]);
      const residual = s * a - y[i];
      const curvature = Math.max(s * (1 - s) * a, 1e-12);
      for (let j = 0; j < p; j++) {
        gradient[j] += (residual * row[j]) / n;
        const cj = (curvature * row[j]) / n;
        for (let k = 0; k <= j; k++) hessian[j * p + k] += cj * row[k];
      }
    }
    for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) hessian[k * p + j] = hessian[j * p + k];
    for (let j = 0; j < d; j++) {
      gradient[j] += l2 * theta[j];
      hessian[j * p + j] += l2;
    }
    hessian[d * p + d] += 1e-10;
    const step = solve(hessian, gradient, p);
    // Damped Newton: halve the step until the loss does not grow.
    let factor = 1;
    let next = theta;
    let nextLoss = loss;
    for (let tries = 0; tries < 30; tries++, factor /= 2) {
      const candidate = new Float64Array(p);
      for (let j = 0; j < p; j++) candidate[j] = theta[j] - factor * step[j];
      const candidateLoss = lossAt(candidate);
      if (candidateLoss <= loss + 1e-12) {
        next = candidate;
        nextLoss = candidateLoss;
        break;
      }
    }
    let change = 0;
    for (let j = 0; j < p; j++) change = Math.max(change, Math.abs(next[j] - theta[j]));
    theta.set(next);
    loss = nextLoss;
    if (change < tolerance) {
      iterations++;
      break;
    }
  }
  return {
    mean: [...mean],
    scale: [...scale],
    weights: [...theta.subarray(0, d)],
    bias: theta[d],
    iterations,
    loss,
  };
}

/** Solves the symmetric positive definite system A·x = b (Cholesky). */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(Math.max(sum, 1e-300)) : sum / l[j * n + j];
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * n + k] * z[k];
    z[i] = sum / l[i * n + i];
  }
  const out = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = z[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * out[k];
    out[i] = sum / l[i * n + i];
  }
  return out;
}
