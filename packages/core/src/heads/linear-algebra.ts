/** Small dense linear algebra for trained draft heads (Medusa, EAGLE, FSPAD) that run in plain TypeScript. */
import { InvalidArgumentError } from '../errors.js';

/** out[r] = bias[r] + Σ_c weight[r, c] · x[c]. weight: [rows, cols] row-major. */
export function matVec(
  weight: Float32Array,
  rows: number,
  cols: number,
  x: Float32Array,
  out: Float32Array,
  bias?: Float32Array,
): Float32Array {
  for (let r = 0; r < rows; r++) {
    let sum = bias ? bias[r] : 0;
    const offset = r * cols;
    for (let c = 0; c < cols; c++) sum += weight[offset + c] * x[c];
    out[r] = sum;
  }
  return out;
}

/** SiLU (x · sigmoid(x)) in place. */
export function siluInPlace(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = values[i] / (1 + Math.exp(-values[i]));
  return values;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topIndices(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === k && values[i] <= values[best[k - 1]]) continue;
    let position = best.length < k ? best.length : k - 1;
    best[position] = i;
    while (position > 0 && values[best[position - 1]] < values[i]) {
      best[position] = best[position - 1];
      best[--position] = i;
    }
  }
  return best;
}

/** Softmax in place (max-shifted). */
export function softmaxInPlace(values: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] = Math.exp(values[i] - max);
  for (let i = 0; i < values.length; i++) values[i] /= total;
  return values;
}

/**
 * Recovers a model's final hidden state from its logits. A Llama LM head without bias maps the final
 * hidden state h (after the final RMSNorm) linearly to the logits, l = E h, with E [vocab, hidden] of full
 * column rank when vocab > hidden; then h = (EᵀE)⁻¹ Eᵀ l exactly (least squares, up to float rounding).
 * The speculative engine shows drafters the verification logits but not hidden states, so this is how a
 * hidden-state drafter reads the state of the row that produced the bonus token without a second forward.
 */
export class HiddenFromLogits {
  /** (EᵀE)⁻¹ Eᵀ. [hidden, vocab] */
  private readonly pseudoInverse: Float32Array;

  constructor(
    lmHead: Float32Array,
    readonly vocabSize: number,
    readonly hiddenSize: number,
  ) {
    if (lmHead.length !== vocabSize * hiddenSize) {
      throw new InvalidArgumentError({
        argument: 'lmHead',
        message: `holds ${lmHead.length} floats, expected vocab ${vocabSize} × hidden ${hiddenSize}.`,
      });
    }
    if (vocabSize < hiddenSize) {
      throw new InvalidArgumentError({
        argument: 'lmHead',
        message: `vocab ${vocabSize} < hidden ${hiddenSize}: the hidden state cannot be recovered from the logits.`,
      });
    }
    const size = hiddenSize;
    // Gram matrix G = EᵀE in float64, then its Cholesky factor L (G = L Lᵀ).
    const gram = new Float64Array(size * size);
    for (let v = 0; v < vocabSize; v++) {
      const row = v * size;
      for (let i = 0; i < size; i++) {
        const a = lmHead[row + i];
        for (let j = 0; j <= i; j++) gram[i * size + j] += a * lmHead[row + j];
      }
    }
    const lower = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = gram[i * size + j];
        for (let k = 0; k < j; k++) sum -= lower[i * size + k] * lower[j * size + k];
        if (i === j) {
          // Relative to the diagonal: rounding leaves a tiny positive pivot for exactly dependent columns.
          if (!(sum > 1e-9 * gram[i * size + i])) {
            throw new InvalidArgumentError({
              argument: 'lmHead',
              message: 'is rank-deficient: the hidden state cannot be recovered from the logits.',
            });
          }
          lower[i * size + i] = Math.sqrt(sum);
        } else {
          lower[i * size + j] = sum / lower[j * size + j];
        }
      }
    }
    // Column v of the pseudo-inverse solves G x = E[v] (forward then backward substitution).
    this.pseudoInverse = new Float32Array(size * vocabSize);
    const x = new Float64Array(size);
    for (let v = 0; v < vocabSize; v++) {
      for (let i = 0; i < size; i++) {
        let sum = lmHead[v * size + i];
        for (let k = 0; k < i; k++) sum -= lower[i * size + k] * x[k];
        x[i] = sum / lower[i * size + i];
      }
      for (let i = size - 1; i >= 0; i--) {
        let sum = x[i];
        for (let k = i + 1; k < size; k++) sum -= lower[k * size + i] * x[k];
        x[i] = sum / lower[i * size + i];
      }
      for (let i = 0; i < size; i++) this.pseudoInverse[i * vocabSize + v] = x[i];
    }
  }

  /** The hidden state whose logits are `logits` (one row). [hidden] */
  recover(logits: Float32Array, out = new Float32Array(this.hiddenSize)): Float32Array {
    return matVec(this.pseudoInverse, this.hiddenSize, this.vocabSize, logits, out);
  }
}

/** Base64 of a float32 array's little-endian bytes (browser and Node). */
export function encodeFloats(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Inverse of `encodeFloats`. */
export function decodeFloats(base64: string): Float32Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
