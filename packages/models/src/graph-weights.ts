import { type LlamaConfig, headDimOf } from './llama-config.js';

/** A source row of an output column: `scale * matrix[row, :]`. */
interface ColumnSource {
  readonly row: Float32Array;
  readonly scale: number;
}

/** Packs columns into a row-major `[inDim, columns]` matrix (the right operand of an ONNX MatMul). */
function packColumns(columns: readonly ColumnSource[], inDim: number): Float32Array {
  const width = columns.length;
  const out = new Float32Array(inDim * width);
  columns.forEach(({ row, scale }, col) => {
    for (let i = 0; i < inDim; i++) out[i * width + col] = scale * row[i];
  });
  return out;
}

function rowsOf(matrix: Float32Array, rows: number, cols: number): Float32Array[] {
  return Array.from({ length: rows }, (_, r) => matrix.subarray(r * cols, (r + 1) * cols));
}

/**
 * Rows of a head-structured projection `[heads * headDim, dim]` reordered per head from llama2.c's
 * interleaved RoPE pairs (x[2i], x[2i+1]) to the half-split layout (all x[2i], then all x[2i+1]), as
 * Hugging Face's Llama conversion does; attention scores are invariant to this per-head permutation.
 * With `rotated`, returns the rows of rotate_half(W x) = [-second half, first half] instead.
 */
function headRows(
  rows: Float32Array[],
  heads: number,
  headDim: number,
  scale: number,
  rotated: boolean,
): ColumnSource[] {
  const half = headDim / 2;
  const out: ColumnSource[] = [];
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < headDim; j++) {
      // Half-split index j holds interleaved element perm(j).
      const perm = (k: number) => (k < half ? 2 * k : 2 * (k - half) + 1);
      if (!rotated) out.push({ row: rows[h * headDim + perm(j)], scale });
      else if (j < half) out.push({ row: rows[h * headDim + perm(j + half)], scale: -scale });
      else out.push({ row: rows[h * headDim + perm(j - half)], scale });
    }
  }
  return out;
}

/**
 * The fused attention input projection of one layer, `[dim, 2 * (dim + kvDim) + kvDim]`, whose columns are
 * (in head-sized groups) q, k, rotate_half(q), rotate_half(k), v. q is pre-scaled by 1/sqrt(headDim).
 * RoPE then is `[q, k] * cos + [q', k'] * sin` on the first two groups.
 */
export function fusedQkv(
  config: LlamaConfig,
  wq: Float32Array,
  wk: Float32Array,
  wv: Float32Array,
): Float32Array {
  const { dim, numHeads, numKvHeads } = config;
  const headDim = headDimOf(config);
  const kvDim = numKvHeads * headDim;
  const q = rowsOf(wq, dim, dim);
  const k = rowsOf(wk, kvDim, dim);
  const v = rowsOf(wv, kvDim, dim);
  const scale = 1 / Math.sqrt(headDim);
  return packColumns(
    [
      ...headRows(q, numHeads, headDim, scale, false),
      ...headRows(k, numKvHeads, headDim, 1, false),
      ...headRows(q, numHeads, headDim, scale, true),
      ...headRows(k, numKvHeads, headDim, 1, true),
      ...v.map(row => ({ row, scale: 1 })),
    ],
    dim,
  );
}

/** `W^T` of a row-major `[out, in]` matrix (so that `x @ W^T = W x`). */
export function transposed(matrix: Float32Array, out: number, inDim: number): Float32Array {
  return packColumns(
    rowsOf(matrix, out, inDim).map(row => ({ row, scale: 1 })),
    inDim,
  );
}

/** The fused gate/up projection `[dim, 2 * hidden]`: columns of w1 then w3. */
export function fusedGateUp(
  w1: Float32Array,
  w3: Float32Array,
  hidden: number,
  dim: number,
): Float32Array {
  return packColumns(
    [...rowsOf(w1, hidden, dim), ...rowsOf(w3, hidden, dim)].map(row => ({ row, scale: 1 })),
    dim,
  );
}

/**
 * RoPE tables `[contextLength, headDim / 2]` computed the way llama2.c's run.c does (float32 frequency and
 * angle): pair i at position p has angle p * theta^(-2i / headDim).
 */
export function ropeTables(
  contextLength: number,
  headDim: number,
  theta: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(contextLength * half);
  const sin = new Float32Array(contextLength * half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    const freq = f(1 / f(Math.pow(theta, f(f(2 * i) / headDim))));
    for (let p = 0; p < contextLength; p++) {
      const angle = f(p * freq);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
