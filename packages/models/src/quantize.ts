/**
 * Weight quantization for the graph builder's variants, in the formats ONNX Runtime's kernels read:
 * float16 bits, per-column symmetric int8 (for MatMulInteger) and 4-bit blocks (for com.microsoft MatMulNBits).
 */

const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

/** float32 → IEEE binary16 bits, rounding to nearest even (overflow → ±Infinity, NaN kept). */
export function float32ToFloat16Bits(value: number): number {
  floatView[0] = value;
  const x = bitsView[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // underflows to ±0
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = full >>> shift;
    const remainder = full & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (remainder > midpoint || (remainder === midpoint && half & 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && half & 1)) half++; // may carry into the exponent: correct
  return sign | half;
}

/** A float32 array as float16 bits. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++)
    out[index] = float32ToFloat16Bits(values[index]);
  return out;
}

/** A `[K, N]` matrix quantized per column to int8 with a zero zero-point: `W[k, n] ≈ q[k, n] * scale[n]`. */
export interface Int8Matrix {
  /** [K, N] row-major, as MatMulInteger's B. */
  readonly quantized: Int8Array;
  /** [N] */
  readonly scales: Float32Array;
}

/** Symmetric per-column int8 quantization of a row-major `[K, N]` matrix (the right operand of a MatMul). */
export function quantizeInt8(matrix: Float32Array, rows: number, columns: number): Int8Matrix {
  const scales = new Float32Array(columns);
  for (let k = 0; k < rows; k++)
    for (let n = 0; n < columns; n++)
      scales[n] = Math.max(scales[n], Math.abs(matrix[k * columns + n]));
  for (let n = 0; n < columns; n++) scales[n] = scales[n] === 0 ? 1 : scales[n] / 127;
  const quantized = new Int8Array(rows * columns);
  for (let k = 0; k < rows; k++) {
    for (let n = 0; n < columns; n++) {
      const q = Math.round(matrix[k * columns + n] / scales[n]);
      quantized[k * columns + n] = Math.max(-127, Math.min(127, q));
    }
  }
  return { quantized, scales };
}

/** A `[K, N]` matrix in com.microsoft MatMulNBits' 4-bit layout. */
export interface Int4Matrix {
  /** [N, blocks, blockSize / 2]: column n's block b, two values a byte, the even index in the low nibble. */
  readonly packed: Uint8Array;
  /** [N * blocks] */
  readonly scales: Float32Array;
  /**
   * [N * ceil(blocks / 2)]: each column's zero points, two a byte (even block in the low nibble); absent for
   * symmetric quantization, where MatMulNBits' default zero point 8 applies.
   */
  readonly zeroPoints?: Uint8Array;
  readonly blocks: number;
}

/**
 * Quantizes a row-major `[K, N]` matrix to 4 bits in blocks of `blockSize` rows per column, as MatMulNBits
 * reads it: `W[k, n] ≈ (q - zero point) * scale[n, k / blockSize]`. Asymmetric by default (each block's range
 * [min(0, lowest), max(0, highest)] over the 16 levels, with a zero point, as ONNX Runtime's 4-bit quantizer
 * does); `symmetric` uses levels 1..15 around the default zero point 8 instead. K is padded with zeros to a
 * whole number of blocks.
 */
export function quantizeInt4(
  matrix: Float32Array,
  rows: number,
  columns: number,
  blockSize = 32,
  { symmetric = false }: { symmetric?: boolean } = {},
): Int4Matrix {
  const blocks = Math.ceil(rows / blockSize);
  const blobSize = blockSize / 2;
  const packed = new Uint8Array(columns * blocks * blobSize);
  const scales = new Float32Array(columns * blocks);
  const zeroBytes = Math.ceil(blocks / 2);
  const zeroPoints = symmetric ? undefined : new Uint8Array(columns * zeroBytes);
  for (let n = 0; n < columns; n++) {
    for (let block = 0; block < blocks; block++) {
      let low = 0;
      let high = 0;
      for (let i = 0; i < blockSize; i++) {
        const k = block * blockSize + i;
        if (k >= rows) break;
        low = Math.min(low, matrix[k * columns + n]);
        high = Math.max(high, matrix[k * columns + n]);
      }
      let scale: number;
      let zero: number;
      if (zeroPoints === undefined) {
        // Symmetric: no zero points are stored.
        const max = Math.max(-low, high);
        scale = max === 0 ? 1 : max / 7;
        zero = 8;
      } else {
        scale = high === low ? 1 : (high - low) / 15;
        zero = Math.max(0, Math.min(15, Math.round(-low / scale)));
        zeroPoints[n * zeroBytes + (block >> 1)] |= block & 1 ? zero << 4 : zero;
      }
      scales[n * blocks + block] = scale;
      const base = (n * blocks + block) * blobSize;
      for (let i = 0; i < blockSize; i++) {
        const k = block * blockSize + i;
        const value = k < rows ? matrix[k * columns + n] : 0;
        const q = Math.max(symmetric ? 1 : 0, Math.min(15, Math.round(value / scale) + zero));
        packed[base + (i >> 1)] |= i & 1 ? q << 4 : q;
      }
    }
  }
  return { packed, scales, blocks, ...(zeroPoints === undefined ? {} : { zeroPoints }) };
}
