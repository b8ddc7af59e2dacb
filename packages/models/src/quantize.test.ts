import { describe, expect, it } from 'vitest';
import { float32ToFloat16Bits, quantizeInt4, quantizeInt8, toFloat16 } from './quantize';

describe('float32ToFloat16Bits', () => {
  it.each([
    { value: 0, bits: 0x0000 },
    { value: -0, bits: 0x8000 },
    { value: 1, bits: 0x3c00 },
    { value: -2, bits: 0xc000 },
    { value: 65504, bits: 0x7bff }, // largest finite
    { value: 65520, bits: 0x7c00 }, // rounds up to Infinity
    { value: 2 ** -24, bits: 0x0001 }, // smallest subnormal
    { value: 2 ** -14, bits: 0x0400 }, // smallest normal
    { value: 1 + 2 ** -11, bits: 0x3c00 }, // a tie rounds to even (down)
    { value: 1 + 3 * 2 ** -11, bits: 0x3c02 }, // a tie rounds to even (up)
    { value: 2 ** -26, bits: 0x0000 }, // below half the smallest subnormal
    { value: Infinity, bits: 0x7c00 },
  ])('$value → 0x$bits', ({ value, bits }) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
  });

  it('keeps NaN a NaN', () => {
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('converts arrays element by element', () => {
    expect([...toFloat16(Float32Array.of(1, -2, 0.5))]).toEqual([0x3c00, 0xc000, 0x3800]);
  });
});

describe('quantizeInt8', () => {
  it('scales each column by its largest magnitude over 127 and rounds', () => {
    // [K=2, N=2]: columns (1, -0.5) and (0.25, 0).
    const { quantized, scales } = quantizeInt8(Float32Array.of(1, 0.25, -0.5, 0), 2, 2);
    expect([...scales].map(scale => scale * 127)).toEqual([
      expect.closeTo(1, 6),
      expect.closeTo(0.25, 6),
    ]);
    expect([...quantized]).toEqual([127, 127, -64, 0]);
  });

  it('gives an all-zero column scale 1', () => {
    expect([...quantizeInt8(new Float32Array(4), 2, 2).scales]).toEqual([1, 1]);
  });
});

describe('quantizeInt4', () => {
  it('symmetric: packs column blocks of 32 rows, two values a byte with the even row in the low nibble, zero point 8', () => {
    // [K=33, N=1]: rows 0..32 hold k - 16 (so block 0 spans -16..15, block 1 holds 16 and zero padding).
    const matrix = Float32Array.from({ length: 33 }, (_, k) => k - 16);
    const { packed, scales, blocks, zeroPoints } = quantizeInt4(matrix, 33, 1, 32, {
      symmetric: true,
    });
    expect(zeroPoints).toBeUndefined();
    expect(blocks).toBe(2);
    expect(packed.length).toBe(2 * 16);
    expect(scales[0]).toBeCloseTo(16 / 7, 6);
    expect(scales[1]).toBeCloseTo(16 / 7, 6);
    const value = (block: number, row: number) => {
      const byte = packed[block * 16 + (row >> 1)];
      return (row & 1 ? byte >> 4 : byte & 0xf) - 8;
    };
    expect(value(0, 0)).toBe(-7); // -16 / (16/7)
    expect(value(0, 16)).toBe(0);
    expect(value(0, 31)).toBe(Math.round(15 / (16 / 7)));
    expect(value(1, 0)).toBe(7);
    expect(value(1, 1)).toBe(0); // padding
    // Dequantized values stay within half a step of the weights.
    for (let k = 0; k < 33; k++) {
      const block = k >> 5;
      expect(Math.abs(value(block, k & 31) * scales[block] - matrix[k])).toBeLessThanOrEqual(
        scales[block] / 2 + 1e-6,
      );
    }
  });
});

describe('quantizeInt4 (asymmetric, the default)', () => {
  it("maps each block's [min(0, lowest), max(0, highest)] onto 0..15 with a packed zero point", () => {
    // [K=64, N=1]: block 0 holds 0..31 (all non-negative), block 1 holds -32..-1 (all negative).
    const matrix = Float32Array.from({ length: 64 }, (_, k) => (k < 32 ? k : k - 64));
    const { packed, scales, zeroPoints, blocks } = quantizeInt4(matrix, 64, 1);
    expect(blocks).toBe(2);
    expect(scales[0]).toBeCloseTo(31 / 15, 6);
    expect(scales[1]).toBeCloseTo(32 / 15, 6);
    expect([...(zeroPoints ?? [])]).toEqual([0 | (15 << 4)]); // block 0: zero point 0; block 1: 15
    const q = (block: number, row: number) => {
      const byte = packed[block * 16 + (row >> 1)];
      return row & 1 ? byte >> 4 : byte & 0xf;
    };
    expect(q(0, 0)).toBe(0);
    expect(q(0, 31)).toBe(15);
    expect(q(1, 0)).toBe(0); // -32
    expect(q(1, 31)).toBe(15); // -1 rounds to the zero point
    for (let k = 0; k < 64; k++) {
      const block = k >> 5;
      const zero = block === 0 ? 0 : 15;
      expect(Math.abs((q(block, k & 31) - zero) * scales[block] - matrix[k])).toBeLessThanOrEqual(
        scales[block] / 2 + 1e-6,
      );
    }
  });
});
