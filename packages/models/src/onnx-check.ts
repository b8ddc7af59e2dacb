import { ModelFormatError } from '@decodekit/core';

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ByteSource = (offset: number, length: number) => Promise<Uint8Array> | Uint8Array;

const LEN = 2;
const GRAPH_FIELD = 7;
const IR_VERSION_FIELD = 1;

async function varint(read: ByteSource, offset: number): Promise<[value: number, next: number]> {
  const bytes = await read(offset, 10);
  let value = 0;
  let scale = 1;
  for (let i = 0; i < bytes.length; i++) {
    value += (bytes[i] & 0x7f) * scale;
    if ((bytes[i] & 0x80) === 0) return [value, offset + i + 1];
    scale *= 128;
  }
  return [Number.NaN, offset];
}

/**
 * A cheap structural check of an ONNX ModelProto: walks its top-level protobuf fields (without reading the
 * weights) and requires a plausible `ir_version` and a `graph` field that fits in the file. Catches
 * truncated, empty and non-ONNX files.
 *
 * @throws ModelFormatError naming `path`
 */
export async function checkOnnxStructure(
  read: ByteSource,
  size: number,
  path: string,
): Promise<void> {
  const fail = (message: string): never => {
    throw new ModelFormatError({
      path,
      message: `${message} The ONNX file is corrupt or truncated; convert or download the model again.`,
    });
  };
  if (size === 0) fail('the file is empty.');
  let offset = 0;
  let irVersion: number | undefined;
  let graph = false;
  while (offset < size) {
    const [tag, afterTag] = await varint(read, offset);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (!Number.isFinite(tag) || field === 0) fail(`invalid protobuf tag at byte ${offset}.`);
    if (wire === 0) {
      const [value, next] = await varint(read, afterTag);
      if (!Number.isFinite(value)) fail(`invalid varint at byte ${afterTag}.`);
      if (field === IR_VERSION_FIELD) irVersion = value;
      offset = next;
    } else if (wire === LEN) {
      const [length, next] = await varint(read, afterTag);
      if (!Number.isFinite(length) || next + length > size) {
        fail(
          `field ${field} at byte ${offset} claims ${length} bytes but only ${size - next} remain.`,
        );
      }
      if (field === GRAPH_FIELD) graph = true;
      offset = next + length;
    } else if (wire === 1 || wire === 5) {
      offset = afterTag + (wire === 1 ? 8 : 4);
    } else {
      fail(`unexpected protobuf wire type ${wire} at byte ${offset}.`);
    }
  }
  if (offset !== size) fail('the last field runs past the end of the file.');
  if (irVersion === undefined || irVersion < 3 || irVersion > 20)
    fail(`ir_version is ${irVersion ?? 'missing'}.`);
  if (!graph) fail('the model has no graph.');
}
