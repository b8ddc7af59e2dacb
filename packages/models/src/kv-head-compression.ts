import { InvalidArgumentError } from '@decodekit/core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { type LlamaConfig, type LlamaWeights, headDimOf } from './llama-config.js';
import {
  type SampleSequencesOptions,
  llamaReference,
  sampleReferenceSequences,
} from './llama-reference.js';

/** Options of {@link compressKvHeads}. */
export interface KvHeadCompressionOptions {
  /** KV heads after compression; must divide the model's KV heads (stories260K: 4 → 2 or 1). */
  readonly kvHeads: number;
  /**
   * Calibration token sequences whose K/V caches are decomposed, or how to sample them from the model itself
   * (default: 8 sequences of 256 tokens from BOS, seed 0, temperature 1).
   */
  readonly calibration?: readonly (readonly number[])[] | SampleSequencesOptions;
}

/** How much of the calibration caches one layer keeps. */
export interface KvHeadCompressionLayer {
  /** Share of the key caches' energy (sum of squares) in the kept RoPE-commuting subspace, in [0, 1]. */
  readonly keyEnergy: number;
  /** Share of the value caches' energy in the kept principal subspace, in [0, 1]. */
  readonly valueEnergy: number;
}

/** What {@link compressKvHeads} did, recorded in config.json by the converter. */
export interface KvHeadCompressionReport {
  readonly fromKvHeads: number;
  readonly toKvHeads: number;
  /** Calibration tokens whose K/V were decomposed. */
  readonly calibrationTokens: number;
  readonly layers: readonly KvHeadCompressionLayer[];
}

/** Output of {@link compressKvHeads}: a model of the same family with `toKvHeads` KV heads. */
export interface CompressedKvHeads {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly report: KvHeadCompressionReport;
}

/** Eigenvectors of a symmetric matrix, largest eigenvalue first, as columns, with the eigenvalues. */
function topEigen(
  matrix: Float64Array,
  size: number,
  count: number,
): { vectors: Float64Array[]; values: number[]; trace: number } {
  const rows = Array.from({ length: size }, (_, r) =>
    Array.from(matrix.subarray(r * size, (r + 1) * size)),
  );
  const decomposition = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const values = decomposition.realEigenvalues;
  const vectors = decomposition.eigenvectorMatrix;
  const order = values.map((_, index) => index).sort((a, b) => values[b] - values[a]);
  let trace = 0;
  for (let i = 0; i < size; i++) trace += matrix[i * size + i];
  return {
    vectors: order.slice(0, count).map(index => Float64Array.from(vectors.getColumn(index))),
    values: order.slice(0, count).map(index => values[index]),
    trace,
  };
}

/**
 * Compresses the KV heads of a Llama-2 style model into fewer, shared ones, after "Effectively Compress KV
 * Heads for LLM" (Yu et al., 2024, https://arxiv.org/abs/2406.07056): adjacent KV heads form groups of
 * `g = numKvHeads / kvHeads`; the K and V caches of each group are collected on calibration text, and a
 * low-rank basis of each group's concatenated cache [T, g * headDim] replaces the group by one head of
 * `headDim` dimensions. The transforms are folded into the weights, so the result is a plain GQA model
 * (same graph, fewer KV heads) that the graph builder builds unchanged:
 *
 * - Values: the top `headDim` principal directions `U` ([g * headDim, headDim], orthonormal) of the group's
 *   value cache; the new value projection is `Uᵀ W_v`, and each query head's slice of `W_o` is multiplied by
 *   its old head's block of `U` (the reconstruction `V ≈ V' Uⱼᵀ` folded into the output projection).
 * - Keys under RoPE: RoPE rotates each key pair (x[2i], x[2i+1]) of every head by the same position-dependent
 *   angle, so a transform folded into W_q must commute with those rotations. Reading each pair as a complex
 *   number, the transforms that commute are per-frequency complex combinations of the group's heads; the best
 *   one for each frequency is the top eigenvector `u` of the group's Hermitian covariance Σ z zᴴ (z ∈ Cᵍ, the
 *   heads' pair i). The new key pair is `uᴴ z`, and each query pair is multiplied by `conj(uⱼ)`, a 2×2
 *   rotation-and-scale that commutes with RoPE, so attention scores are reproduced exactly on the kept
 *   subspace at every position. The covariance is the same before and after RoPE (the phase cancels), so
 *   the cached (rotated) keys serve as calibration.
 *
 * The paper follows the conversion with LoRA fine-tuning; this function is the training-free conversion only.
 * With `kvHeads` equal to the model's KV heads the bases are complete and the model is unchanged (up to
 * float rounding).
 *
 * @throws InvalidArgumentError when `kvHeads` does not divide the model's KV heads or calibration is empty
 */
export function compressKvHeads(
  config: LlamaConfig,
  weights: LlamaWeights,
  options: KvHeadCompressionOptions,
): CompressedKvHeads {
  const { kvHeads } = options;
  const { dim, numHeads, numKvHeads, numLayers } = config;
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || numKvHeads % kvHeads !== 0) {
    throw new InvalidArgumentError({
      argument: 'kvHeads',
      message: `must be a positive divisor of the model's ${numKvHeads} KV heads, got ${kvHeads}.`,
    });
  }
  const calibration = Array.isArray(options.calibration)
    ? (options.calibration as readonly (readonly number[])[])
    : sampleReferenceSequences(
        config,
        weights,
        (options.calibration ?? {}) as SampleSequencesOptions,
      );
  const calibrationTokens = calibration.reduce((sum, sequence) => sum + sequence.length, 0);
  if (calibrationTokens === 0) {
    throw new InvalidArgumentError({
      argument: 'calibration',
      message: 'needs at least one token; pass token sequences or sampling options.',
    });
  }
  const headDim = headDimOf(config);
  const half = headDim / 2;
  const group = numKvHeads / kvHeads;
  const oldKvDim = numKvHeads * headDim;
  const newKvDim = kvHeads * headDim;
  const queryPerOldKv = numHeads / numKvHeads;
  const valueSize = group * headDim;
  const keySize = 2 * group;

  // Calibration statistics: per layer and new head, the value covariance [g·D, g·D] and per frequency the
  // real form [[A, -B], [B, A]] of the Hermitian key covariance Σ z zᴴ = A + iB.
  const valueCov = Array.from(
    { length: numLayers * kvHeads },
    () => new Float64Array(valueSize ** 2),
  );
  const keyCov = Array.from(
    { length: numLayers * kvHeads * half },
    () => new Float64Array(keySize ** 2),
  );
  for (const sequence of calibration) {
    const reference = llamaReference(config, weights);
    for (const token of sequence) reference.step(token);
    for (let layer = 0; layer < numLayers; layer++) {
      const keys = reference.cache(layer, 'key');
      const values = reference.cache(layer, 'value');
      for (let t = 0; t < reference.length; t++) {
        for (let j = 0; j < kvHeads; j++) {
          const base = t * oldKvDim + j * valueSize;
          const cov = valueCov[layer * kvHeads + j];
          for (let r = 0; r < valueSize; r++) {
            const vr = values[base + r];
            if (vr === 0) continue;
            for (let c = 0; c < valueSize; c++) cov[r * valueSize + c] += vr * values[base + c];
          }
          for (let pair = 0; pair < half; pair++) {
            const cov = keyCov[(layer * kvHeads + j) * half + pair];
            for (let m = 0; m < group; m++) {
              const am = keys[base + m * headDim + 2 * pair];
              const bm = keys[base + m * headDim + 2 * pair + 1];
              for (let n = 0; n < group; n++) {
                const an = keys[base + n * headDim + 2 * pair];
                const bn = keys[base + n * headDim + 2 * pair + 1];
                const real = am * an + bm * bn; // Re(z_m conj(z_n))
                const imaginary = bm * an - am * bn; // Im(z_m conj(z_n))
                cov[m * keySize + n] += real;
                cov[(m + group) * keySize + (n + group)] += real;
                cov[(m + group) * keySize + n] += imaginary;
                cov[m * keySize + (n + group)] -= imaginary;
              }
            }
          }
        }
      }
    }
  }

  const wq = Float32Array.from(weights.wq);
  const wo = Float32Array.from(weights.wo);
  const wk = new Float32Array(numLayers * newKvDim * dim);
  const wv = new Float32Array(numLayers * newKvDim * dim);
  const layers: KvHeadCompressionLayer[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    let keyKept = 0;
    let keyTotal = 0;
    let valueKept = 0;
    let valueTotal = 0;
    const oldWk = weights.wk.subarray(layer * oldKvDim * dim, (layer + 1) * oldKvDim * dim);
    const oldWv = weights.wv.subarray(layer * oldKvDim * dim, (layer + 1) * oldKvDim * dim);
    const newWk = wk.subarray(layer * newKvDim * dim, (layer + 1) * newKvDim * dim);
    const newWv = wv.subarray(layer * newKvDim * dim, (layer + 1) * newKvDim * dim);
    const layerWq = wq.subarray(layer * dim * dim, (layer + 1) * dim * dim);
    const layerWo = wo.subarray(layer * dim * dim, (layer + 1) * dim * dim);
    const oldWo = weights.wo.subarray(layer * dim * dim, (layer + 1) * dim * dim);
    const oldWq = weights.wq.subarray(layer * dim * dim, (layer + 1) * dim * dim);
    for (let j = 0; j < kvHeads; j++) {
      // Values: U [g·D, D]; new W_v rows = Uᵀ W_v(group); W_o columns of a query head of old head m: W_o,h Uₘ.
      const values = topEigen(valueCov[layer * kvHeads + j], valueSize, headDim);
      valueKept += values.values.reduce((sum, value) => sum + value, 0);
      valueTotal += values.trace;
      for (let c = 0; c < headDim; c++) {
        const basis = values.vectors[c];
        const row = newWv.subarray((j * headDim + c) * dim, (j * headDim + c + 1) * dim);
        for (let r = 0; r < valueSize; r++) {
          const weight = basis[r];
          const oldRow = (j * valueSize + r) * dim;
          for (let i = 0; i < dim; i++) row[i] += weight * oldWv[oldRow + i];
        }
      }
      for (let m = 0; m < group; m++) {
        const oldHead = j * group + m;
        for (let h = oldHead * queryPerOldKv; h < (oldHead + 1) * queryPerOldKv; h++) {
          for (let out = 0; out < dim; out++) {
            for (let c = 0; c < headDim; c++) {
              let sum = 0;
              for (let r = 0; r < headDim; r++)
                sum += oldWo[out * dim + h * headDim + r] * values.vectors[c][m * headDim + r];
              layerWo[out * dim + h * headDim + c] = sum;
            }
          }
        }
      }
      // Keys: per frequency, u ∈ Cᵍ; new pair = Σₘ conj(uₘ) zₘ; query pair of old head m times conj(uₘ).
      for (let pair = 0; pair < half; pair++) {
        const keys = topEigen(keyCov[(layer * kvHeads + j) * half + pair], keySize, 1);
        keyKept += keys.values[0];
        // The real form holds each complex eigenvalue twice; its trace is twice the energy.
        keyTotal += keys.trace / 2;
        const u = keys.vectors[0];
        const realRow = newWk.subarray(
          (j * headDim + 2 * pair) * dim,
          (j * headDim + 2 * pair + 1) * dim,
        );
        const imaginaryRow = newWk.subarray(
          (j * headDim + 2 * pair + 1) * dim,
          (j * headDim + 2 * pair + 2) * dim,
        );
        for (let m = 0; m < group; m++) {
          const alpha = u[m];
          const beta = u[m + group];
          const oldReal = ((j * group + m) * headDim + 2 * pair) * dim;
          const oldImaginary = oldReal + dim;
          for (let i = 0; i < dim; i++) {
            realRow[i] += alpha * oldWk[oldReal + i] + beta * oldWk[oldImaginary + i];
            imaginaryRow[i] += alpha * oldWk[oldImaginary + i] - beta * oldWk[oldReal + i];
          }
          const oldHead = j * group + m;
          for (let h = oldHead * queryPerOldKv; h < (oldHead + 1) * queryPerOldKv; h++) {
            const qReal = (h * headDim + 2 * pair) * dim;
            const qImaginary = qReal + dim;
            for (let i = 0; i < dim; i++) {
              layerWq[qReal + i] = alpha * oldWq[qReal + i] + beta * oldWq[qImaginary + i];
              layerWq[qImaginary + i] = alpha * oldWq[qImaginary + i] - beta * oldWq[qReal + i];
            }
          }
        }
      }
    }
    layers.push({
      keyEnergy: keyTotal > 0 ? Math.min(1, keyKept / keyTotal) : 1,
      valueEnergy: valueTotal > 0 ? Math.min(1, valueKept / valueTotal) : 1,
    });
  }
  return {
    config: { ...config, numKvHeads: kvHeads },
    weights: { ...weights, wq, wk, wv, wo },
    report: { fromKvHeads: numKvHeads, toKvHeads: kvHeads, calibrationTokens, layers },
  };
}
