import { describe, expect, it } from 'vitest';
import { float16ToFloat32 } from './float16';

describe('float16ToFloat32', () => {
  it.each([
    { bits: 0x0000, value: 0 },
    { bits: 0x3c00, value: 1 },
    { bits: 0xc000, value: -2 },
    { bits: 0x3555, value: 0.333251953125 },
    { bits: 0x7bff, value: 65504 }, // largest finite
    { bits: 0x0001, value: 2 ** -24 }, // smallest subnormal
    { bits: 0x0400, value: 2 ** -14 }, // smallest normal
    { bits: 0x7c00, value: Infinity },
    { bits: 0xfc00, value: -Infinity },
  ])('0x$bits.toString(16) → $value', ({ bits, value }) => {
    expect(float16ToFloat32(Uint16Array.of(bits))[0]).toBe(value);
  });

  it('maps NaN patterns to NaN and keeps the sign of zero', () => {
    const values = float16ToFloat32(Uint16Array.of(0x7e00, 0x8000));
    expect(values[0]).toBeNaN();
    expect(Object.is(values[1], -0)).toBe(true);
  });

  it('decodes every 97th finite pattern so that sign, exponent and fraction rebuild the bits', () => {
    const all = new Uint16Array(65536).map((_, index) => index);
    const values = float16ToFloat32(all);
    for (let bits = 0; bits < 65536; bits += 97) {
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 31) continue;
      // Rebuild the bits from the float32 value: sign, exponent and fraction must survive.
      const value = values[bits];
      const magnitude = Math.abs(value);
      const sign = value < 0 || Object.is(value, -0) ? 1 : 0;
      const rebuilt =
        magnitude < 2 ** -14
          ? (sign << 15) | Math.round(magnitude / 2 ** -24)
          : (sign << 15) |
            ((Math.floor(Math.log2(magnitude)) + 15) << 10) |
            Math.round((magnitude / 2 ** Math.floor(Math.log2(magnitude)) - 1) * 1024);
      expect(rebuilt).toBe(bits);
    }
  });
});
