import { InvalidArgumentError } from '@decodekit/core';

/**
 * How hidden rows become one vector: `'mean'` averages the rows, `'first'` takes the first row (the CLS
 * position of an encoder; under causal attention it has seen only the first token), `'last'` takes the last
 * row (the only one that has seen the whole text in a causal LM).
 */
export type Pooling = 'mean' | 'first' | 'last';

/**
 * Pools rows `fromRow..rows-1` of a row-major `[rows, width]` hidden-state matrix into one vector.
 * Throws `InvalidArgumentError` when the shape does not match or no row is left to pool.
 */
export function poolHidden(
  hidden: Float32Array,
  width: number,
  pooling: Pooling,
  fromRow = 0,
): Float32Array {
  if (!Number.isInteger(width) || width < 1 || hidden.length % width !== 0) {
    throw new InvalidArgumentError({
      argument: 'hidden',
      message: `length ${hidden.length} is not a multiple of width ${width}`,
    });
  }
  const rows = hidden.length / width;
  if (!Number.isInteger(fromRow) || fromRow < 0 || fromRow >= rows) {
    throw new InvalidArgumentError({
      argument: 'fromRow',
      message: `need 0 <= fromRow < ${rows} rows, got ${fromRow}`,
    });
  }
  if (pooling === 'first') return hidden.slice(fromRow * width, (fromRow + 1) * width);
  if (pooling === 'last') return hidden.slice((rows - 1) * width, rows * width);
  if (pooling !== 'mean') {
    throw new InvalidArgumentError({
      argument: 'pooling',
      message: `must be 'mean', 'first' or 'last', got ${String(pooling)}`,
    });
  }
  const out = new Float32Array(width);
  for (let row = fromRow; row < rows; row++) {
    for (let j = 0; j < width; j++) out[j] += hidden[row * width + j];
  }
  const count = rows - fromRow;
  for (let j = 0; j < width; j++) out[j] /= count;
  return out;
}

/** Returns `vector / ‖vector‖₂` (a copy); the zero vector stays zero. */
export function l2Normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
  norm = Math.sqrt(norm);
  const out = new Float32Array(vector.length);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] / norm;
  return out;
}

/** Dot product of two equal-length vectors (the cosine when both are L2-normalised). */
export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new InvalidArgumentError({
      argument: 'vector',
      message: `dimension mismatch: ${a.length} vs ${b.length}`,
    });
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
