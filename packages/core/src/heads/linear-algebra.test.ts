import { seededRandom } from '../sampling/index.js';
import { describe, expect, it } from 'vitest';
import {
  decodeFloats,
  encodeFloats,
  HiddenFromLogits,
  matVec,
  topIndices,
} from './linear-algebra.js';

const uniform = (length: number, seed: number) => {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random.next() * 2 - 1);
};

describe('linear algebra of the drafter', () => {
  it('recovers h from l = E h', () => {
    const lmHead = uniform(30 * 5, 4);
    const hidden = uniform(5, 5);
    const recovered = new HiddenFromLogits(lmHead, 30, 5).recover(
      matVec(lmHead, 30, 5, hidden, new Float32Array(30)),
    );
    recovered.forEach((value, i) => expect(value).toBeCloseTo(hidden[i], 4));
  });
  it('ranks the top k, ties to the lower index', () => {
    expect(topIndices(Float32Array.of(1, 3, 3, 2), 3)).toEqual([1, 2, 3]);
  });
  it('round-trips floats through base64', () => {
    const values = Float32Array.of(0, -1.5, 3.25e-8, 1e30);
    expect(Array.from(decodeFloats(encodeFloats(values)))).toEqual(Array.from(values));
  });
});
