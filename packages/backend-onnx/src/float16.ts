/** IEEE 754 binary16 → binary32 for every 16-bit pattern, built on first use (256 KiB). */
let table: Float32Array | undefined;

function buildTable(): Float32Array {
  const values = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0)
      values[bits] = sign * fraction * 2 ** -24; // zero and subnormals
    else if (exponent === 31) values[bits] = fraction === 0 ? sign * Infinity : NaN;
    else values[bits] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return values;
}

/**
 * Widens float16 values (raw bits, as ONNX Runtime for JavaScript returns them in a Uint16Array) to float32.
 * Exact: every float16 value is representable in float32.
 */
export function float16ToFloat32(
  bits: Uint16Array,
  target = new Float32Array(bits.length),
): Float32Array {
  const values = (table ??= buildTable());
  for (let index = 0; index < bits.length; index++) target[index] = values[bits[index]];
  return target;
}
