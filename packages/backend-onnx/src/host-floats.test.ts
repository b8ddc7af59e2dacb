import { describe, expect, it } from 'vitest';
import { hostFloats } from './float16';
import { gatherCache } from './kv-cache';
import type { OrtRuntime, OrtTensor } from './ort-runtime';

/**
 * Where the JavaScript engine has a Float16Array (Chromium 135+, Node 24+), ONNX Runtime for JavaScript returns
 * float16 outputs in one: its elements are the values, not bits. Node 20 has none, so a stand-in with the same
 * name plays it here: a typed array of plain values that is neither a Float32Array nor a Uint16Array.
 */
class Float16Array extends Float64Array {}

describe('hostFloats', () => {
  it.each([
    { name: 'Float32Array (as is)', data: Float32Array.of(1.5, -2), expected: [1.5, -2] },
    { name: 'Uint16Array float16 bits', data: Uint16Array.of(0x3e00, 0xc000), expected: [1.5, -2] },
    { name: 'Float16Array values', data: Float16Array.of(1.5, -2), expected: [1.5, -2] },
  ])('widens $name to float32 values', ({ data, expected }) => {
    const floats = hostFloats(data);
    expect(floats).toBeInstanceOf(Float32Array);
    expect(floats?.constructor).toBe(Float32Array);
    expect(Array.from(floats ?? [])).toEqual(expected);
  });

  it('returns the Float32Array itself (no copy) and undefined for data that holds no floats', () => {
    const logits = Float32Array.of(1, 2);
    expect(hostFloats(logits)).toBe(logits);
    expect(hostFloats(BigInt64Array.of(1n))).toBeUndefined();
    expect(hostFloats(Int32Array.of(1))).toBeUndefined();
    expect(hostFloats(undefined)).toBeUndefined();
  });
});

describe('gatherCache on float16 data', () => {
  /** `new Tensor(...)` as gatherCache calls it: a plain record of what it was given. */
  const fakeOrt = {
    Tensor: function Tensor(type: string, data: unknown, dims: readonly number[]) {
      return { type, data, dims };
    },
  } as unknown as OrtRuntime;
  const shape = { kvHeads: 1, headDim: 2 };

  it('keeps Uint16Array bits as bits', () => {
    const bits = Uint16Array.of(0x8000, 0x7e01, 0x3c00, 0xfc00, 0x0001, 0x7bff);
    const tensor = { type: 'float16', data: bits, dims: [1, 1, 3, 2] } as unknown as OrtTensor;
    const [gathered] = gatherCache(fakeOrt, [tensor], 3, [2, 0], shape, 'float16');
    expect(gathered.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(gathered.data as Uint16Array)).toEqual([0x0001, 0x7bff, 0x8000, 0x7e01]);
  });

  it('keeps a Float16Array a Float16Array (copying its values into bits would corrupt them)', () => {
    const values = Float16Array.of(0.5, -1, 2, 3.5, -0.25, 1024);
    const tensor = { type: 'float16', data: values, dims: [1, 1, 3, 2] } as unknown as OrtTensor;
    const [gathered] = gatherCache(fakeOrt, [tensor], 3, [2, 0], shape, 'float16');
    expect(gathered.data).toBeInstanceOf(Float16Array);
    expect(Array.from(gathered.data as Float16Array)).toEqual([-0.25, 1024, 0.5, -1]);
  });
});
