import { describe, expect, it } from 'vitest';
import { gatherCache } from './kv-cache';
import type { OrtRuntime, OrtTensor } from './ort-runtime';

/** A stand-in for `ort.Tensor`: gatherCache only constructs tensors. */
const fakeOrt = {
  Tensor: class {
    constructor(
      readonly type: string,
      readonly data: unknown,
      readonly dims: readonly number[],
    ) {}
  },
} as unknown as OrtRuntime;

/** [1, H=2, T=4, D=2] with value = 100·head + 10·position + component. */
function cacheTensor(): OrtTensor {
  const data = new Float32Array(2 * 4 * 2);
  for (let head = 0; head < 2; head++)
    for (let position = 0; position < 4; position++)
      for (let component = 0; component < 2; component++)
        data[(head * 4 + position) * 2 + component] = 100 * head + 10 * position + component;
  return { type: 'float32', data, dims: [1, 2, 4, 2] };
}

describe('gatherCache', () => {
  it.each([
    { positions: [0, 1], expected: [0, 1, 10, 11, 100, 101, 110, 111] },
    { positions: [0, 1, 3], expected: [0, 1, 10, 11, 30, 31, 100, 101, 110, 111, 130, 131] },
    { positions: [2], expected: [20, 21, 120, 121] },
    { positions: [], expected: [] },
  ])('keeps positions $positions of every head', ({ positions, expected }) => {
    const source = cacheTensor();
    const [gathered] = gatherCache(fakeOrt, [source], 4, positions, { kvHeads: 2, headDim: 2 });
    expect([...(gathered.data as Float32Array)]).toEqual(expected);
    expect(gathered.dims).toEqual([1, 2, positions.length, 2]);
    expect((source.data as Float32Array)[0]).toBe(0); // the source is never written
  });
});

describe('gatherCache on a float16 cache', () => {
  it('copies the raw float16 bits into a new float16 tensor', () => {
    const data = new Uint16Array(2 * 3 * 1).map((_, index) => 0x3c00 + index); // [1, H=2, T=3, D=1]
    const [gathered] = gatherCache(
      fakeOrt,
      [{ type: 'float16', data, dims: [1, 2, 3, 1] }],
      3,
      [0, 2],
      { kvHeads: 2, headDim: 1 },
      'float16',
    );
    expect(gathered.type).toBe('float16');
    expect(gathered.data).toBeInstanceOf(Uint16Array);
    expect([...(gathered.data as Uint16Array)]).toEqual([0x3c00, 0x3c02, 0x3c03, 0x3c05]);
  });
});
