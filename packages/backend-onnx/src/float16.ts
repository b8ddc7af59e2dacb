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

/**
 * The float32 values of a float output read back to the host (logits, hidden states), or undefined when
 * `data` holds no floats. ONNX Runtime for JavaScript returns float16 outputs as Uint16Array bits, or as a
 * Float16Array where the JavaScript engine has one (Chromium 135+, Node 24+); both are widened once here.
 */
export function hostFloats(data: unknown): Float32Array | undefined {
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array) return float16ToFloat32(data);
  // Float16Array holds the values themselves: a plain copy widens them.
  if (ArrayBuffer.isView(data) && data.constructor.name === 'Float16Array')
    return Float32Array.from(data as unknown as ArrayLike<number>);
  return undefined;
}
