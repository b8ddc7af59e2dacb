import { InvalidArgumentError } from '@decodekit/core';
import { ropeTables } from './graph-weights.js';
import { type LlamaConfig, type LlamaWeights, headDimOf } from './llama-config.js';
import { seededRandom } from './seeded-random.js';

/**
 * A plain-JavaScript float32 forward of a Llama-2 style model in llama2.c's conventions (the loop of
 * llama2.c's `run.c`: RMSNorm, interleaved-pair RoPE, GQA attention over a KV cache, SwiGLU, tied or separate
 * classifier). It is the reference that converters use to collect calibration K/V and that tests compare
 * built graphs against. One token per `step`; fine for the tiny models it serves (stories260K: ~0.1 ms a token).
 */
export interface LlamaReference {
  readonly config: LlamaConfig;
  /** Tokens run so far (their K/V are cached). */
  readonly length: number;
  /** Runs `token` at position `length` and returns its next-token logits [vocab]. */
  step(token: number): Float32Array;
  /**
   * Layer `layer`'s cached keys (after RoPE, llama2.c's interleaved pair layout) or values:
   * [length, numKvHeads * headDim], row-major.
   */
  cache(layer: number, kind: 'key' | 'value'): Float32Array;
}

/** `out[r] = Σ_c matrix[offset + r * columns + c] * x[c]` for a row-major `[rows, columns]` block. */
function matVec(
  out: Float32Array,
  matrix: Float32Array,
  offset: number,
  x: Float32Array,
  rows: number,
  columns: number,
): void {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    const base = offset + r * columns;
    for (let c = 0; c < columns; c++) sum += matrix[base + c] * x[c];
    out[r] = sum;
  }
}

function rmsNorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  offset: number,
  eps: number,
): void {
  let squares = 0;
  for (let i = 0; i < x.length; i++) squares += x[i] * x[i];
  const scale = 1 / Math.sqrt(squares / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = weight[offset + i] * (scale * x[i]);
}

/**
 * A {@link LlamaReference} over `weights` (no copy: the arrays are read in place).
 *
 * @throws InvalidArgumentError when a token is out of the vocabulary or the context is full
 */
export function llamaReference(config: LlamaConfig, weights: LlamaWeights): LlamaReference {
  const { dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize, contextLength } = config;
  const headDim = headDimOf(config);
  const kvDim = numKvHeads * headDim;
  const group = numHeads / numKvHeads;
  const eps = config.rmsNormEps ?? 1e-5;
  const { cos, sin } = ropeTables(contextLength, headDim, config.ropeTheta ?? 10000);
  const keys = Array.from({ length: numLayers }, () => new Float32Array(contextLength * kvDim));
  const values = Array.from({ length: numLayers }, () => new Float32Array(contextLength * kvDim));
  const x = new Float32Array(dim);
  const xb = new Float32Array(dim);
  const q = new Float32Array(dim);
  const attended = new Float32Array(dim);
  const projected = new Float32Array(dim);
  const gate = new Float32Array(hiddenDim);
  const up = new Float32Array(hiddenDim);
  const scores = new Float32Array(contextLength);
  const classifier = weights.wcls ?? weights.tokenEmbedding;
  let length = 0;

  const rotate = (vector: Float32Array, offset: number, width: number, position: number) => {
    for (let i = 0; i < width; i += 2) {
      const pair = (i % headDim) / 2;
      const c = cos[position * (headDim / 2) + pair];
      const s = sin[position * (headDim / 2) + pair];
      const a = vector[offset + i];
      const b = vector[offset + i + 1];
      vector[offset + i] = a * c - b * s;
      vector[offset + i + 1] = a * s + b * c;
    }
  };

  return {
    config,
    get length() {
      return length;
    },
    cache(layer, kind) {
      return (kind === 'key' ? keys : values)[layer].subarray(0, length * kvDim);
    },
    step(token) {
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new InvalidArgumentError({
          argument: 'token',
          message: `must be an integer in [0, ${vocabSize}), got ${token}.`,
        });
      }
      if (length >= contextLength) {
        throw new InvalidArgumentError({
          argument: 'token',
          message: `the context of ${contextLength} positions is full; start a new reference.`,
        });
      }
      const position = length;
      x.set(weights.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
      for (let layer = 0; layer < numLayers; layer++) {
        rmsNorm(xb, x, weights.rmsAtt, layer * dim, eps);
        const key = keys[layer].subarray(position * kvDim, (position + 1) * kvDim);
        const value = values[layer].subarray(position * kvDim, (position + 1) * kvDim);
        matVec(q, weights.wq, layer * dim * dim, xb, dim, dim);
        matVec(key, weights.wk, layer * kvDim * dim, xb, kvDim, dim);
        matVec(value, weights.wv, layer * kvDim * dim, xb, kvDim, dim);
        rotate(q, 0, dim, position);
        rotate(key, 0, kvDim, position);
        const keyCache = keys[layer];
        const valueCache = values[layer];
        for (let head = 0; head < numHeads; head++) {
          const kvOffset = Math.floor(head / group) * headDim;
          let max = -Infinity;
          for (let t = 0; t <= position; t++) {
            let score = 0;
            for (let i = 0; i < headDim; i++)
              score += q[head * headDim + i] * keyCache[t * kvDim + kvOffset + i];
            score /= Math.sqrt(headDim);
            scores[t] = score;
            if (score > max) max = score;
          }
          let total = 0;
          for (let t = 0; t <= position; t++) {
            scores[t] = Math.exp(scores[t] - max);
            total += scores[t];
          }
          for (let i = 0; i < headDim; i++) {
            let sum = 0;
            for (let t = 0; t <= position; t++)
              sum += scores[t] * valueCache[t * kvDim + kvOffset + i];
            attended[head * headDim + i] = sum / total;
          }
        }
        matVec(projected, weights.wo, layer * dim * dim, attended, dim, dim);
        for (let i = 0; i < dim; i++) x[i] += projected[i];
        rmsNorm(xb, x, weights.rmsFfn, layer * dim, eps);
        matVec(gate, weights.w1, layer * hiddenDim * dim, xb, hiddenDim, dim);
        matVec(up, weights.w3, layer * hiddenDim * dim, xb, hiddenDim, dim);
        for (let i = 0; i < hiddenDim; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
        matVec(projected, weights.w2, layer * dim * hiddenDim, gate, dim, hiddenDim);
        for (let i = 0; i < dim; i++) x[i] += projected[i];
      }
      rmsNorm(xb, x, weights.rmsFinal, 0, eps);
      const logits = new Float32Array(vocabSize);
      matVec(logits, classifier, 0, xb, vocabSize, dim);
      length += 1;
      return logits;
    },
  };
}

/** Options of {@link sampleReferenceSequences}. */
export interface SampleSequencesOptions {
  /** How many sequences (default 8). */
  readonly sequences?: number;
  /** Tokens per sequence, the start token included (default 256, capped at the context length). */
  readonly length?: number;
  /** Seed of the sampler (default 0). */
  readonly seed?: number;
  /** First token of every sequence (default 1, llama2.c's BOS). */
  readonly startToken?: number;
  /** Sampling temperature (default 1: the model's own distribution). */
  readonly temperature?: number;
}

/**
 * The model's own text: `sequences` continuations of `startToken`, sampled with a seeded generator at
 * `temperature` by {@link llamaReference}. Same seed, same tokens on every machine. Calibration and held-out
 * perplexity sets of the KV-head compression are drawn this way with different seeds.
 */
export function sampleReferenceSequences(
  config: LlamaConfig,
  weights: LlamaWeights,
  options: SampleSequencesOptions = {},
): number[][] {
  const sequences = options.sequences ?? 8;
  const length = Math.min(options.length ?? 256, config.contextLength);
  const temperature = options.temperature ?? 1;
  for (const [argument, value] of [
    ['sequences', sequences],
    ['length', length],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive integer, got ${value}.`,
      });
    }
  }
  if (!(temperature > 0)) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be positive, got ${temperature}.`,
    });
  }
  const random = seededRandom(options.seed ?? 0);
  const out: number[][] = [];
  for (let s = 0; s < sequences; s++) {
    const reference = llamaReference(config, weights);
    const tokens = [options.startToken ?? 1];
    while (tokens.length < length) {
      const logits = reference.step(tokens[tokens.length - 1]);
      let max = -Infinity;
      for (const logit of logits) if (logit > max) max = logit;
      let total = 0;
      const probabilities = logits.map(logit => {
        const p = Math.exp((logit - max) / temperature);
        total += p;
        return p;
      });
      let u = random.next() * total;
      let token = probabilities.length - 1;
      for (let i = 0; i < probabilities.length; i++) {
        u -= probabilities[i];
        if (u < 0) {
          token = i;
          break;
        }
      }
      tokens.push(token);
    }
    out.push(tokens);
  }
  return out;
}

/**
 * Perplexity of `sequences` under the model: exp(mean NLL of every token after the first), from
 * {@link llamaReference}.
 */
export function referencePerplexity(
  config: LlamaConfig,
  weights: LlamaWeights,
  sequences: readonly (readonly number[])[],
): number {
  let nll = 0;
  let count = 0;
  for (const sequence of sequences) {
    const reference = llamaReference(config, weights);
    for (let t = 0; t + 1 < sequence.length; t++) {
      const logits = reference.step(sequence[t]);
      let max = -Infinity;
      for (const logit of logits) if (logit > max) max = logit;
      let total = 0;
      for (const logit of logits) total += Math.exp(logit - max);
      nll -= logits[sequence[t + 1]] - max - Math.log(total);
      count += 1;
    }
  }
  if (count === 0) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: 'need at least one sequence of two or more tokens.',
    });
  }
  return Math.exp(nll / count);
}
