import { InvalidArgumentError } from '@decodekit/core';

/**
 * Binary code of a vector: bit i is 1 when `vector[i] > 0` (sign binarisation, as in binary paragraph
 * vectors, Grzegorczyk & Kurdziel, 2017, where a sigmoid layer's outputs are rounded to bits). Packed 32 bits
 * per word, little-endian within a word; trailing bits of the last word are 0.
 */
export function binaryCode(vector: Float32Array): Uint32Array {
  const code = new Uint32Array(Math.ceil(vector.length / 32));
  for (let i = 0; i < vector.length; i++) {
    if (vector[i] > 0) code[i >>> 5] |= 1 << (i & 31);
  }
  return code;
}

function popcount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Number of differing bits between two codes of the same length. */
export function hammingDistance(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) {
    throw new InvalidArgumentError({
      argument: 'code',
      message: `code length mismatch: ${a.length} vs ${b.length} words`,
    });
  }
  let distance = 0;
  for (let i = 0; i < a.length; i++) distance += popcount((a[i] ^ b[i]) >>> 0);
  return distance;
}
