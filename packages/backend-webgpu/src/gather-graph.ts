/**
 * A tiny ONNX graph that gathers cache positions on the device: `count` inputs `kv.{i}` [1, H, S, D] and
 * `indices` int64 [N] → outputs `out.{i}` = Gather(kv.{i}, indices, axis = 2) [1, H, N, D]. Running it on the
 * same execution provider as the model keeps commits, compactions and truncations on the GPU: onnxruntime-node
 * cannot download a `gpu-buffer` tensor, and a download + upload would cost two transfers anyway.
 *
 * The protobuf is written by hand (a few fields of onnx.proto), so the browser bundle needs no protobuf library.
 */

const encoder = new TextEncoder();

/** Protobuf writer for the handful of field kinds the graph needs. */
class Message {
  private readonly parts: number[] = [];

  private varint(value: number): void {
    let rest = value;
    while (rest > 0x7f) {
      this.parts.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    this.parts.push(rest);
  }

  /** A varint field (wire type 0). */
  int(field: number, value: number): this {
    this.varint(field * 8);
    this.varint(value);
    return this;
  }

  /** A length-delimited field (wire type 2): bytes, a string or a nested message. */
  bytes(field: number, value: Uint8Array | string | Message): this {
    const data =
      typeof value === 'string'
        ? encoder.encode(value)
        : value instanceof Message
          ? value.finish()
          : value;
    this.varint(field * 8 + 2);
    this.varint(data.length);
    for (const byte of data) this.parts.push(byte);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const FLOAT = 1;
const INT64 = 7;
const FLOAT16 = 10;
const ATTRIBUTE_INT = 2;

/** ValueInfoProto of a tensor whose dims are symbolic names or fixed sizes. */
function valueInfo(name: string, elemType: number, dims: readonly (string | number)[]): Message {
  const shape = new Message();
  for (const dim of dims) {
    shape.bytes(
      1,
      typeof dim === 'number' ? new Message().int(1, dim) : new Message().bytes(2, dim),
    );
  }
  const tensor = new Message().int(1, elemType).bytes(2, shape);
  return new Message().bytes(1, name).bytes(2, new Message().bytes(1, tensor));
}

/** Input names of the gather graph for `count` cache tensors. */
export function gatherInputName(index: number): string {
  return `kv.${index}`;
}

/** Output names of the gather graph. */
export function gatherOutputName(index: number): string {
  return `out.${index}`;
}

/**
 * The serialized ONNX model (opset 13) that gathers `count` cache tensors of element type `type` along axis 2.
 */
export function buildGatherGraph(
  count: number,
  type: 'float32' | 'float16' = 'float32',
): Uint8Array {
  const elemType = type === 'float16' ? FLOAT16 : FLOAT;
  const graph = new Message();
  for (let index = 0; index < count; index++) {
    const node = new Message()
      .bytes(1, gatherInputName(index))
      .bytes(1, 'indices')
      .bytes(2, gatherOutputName(index))
      .bytes(3, `gather.${index}`)
      .bytes(4, 'Gather')
      .bytes(5, new Message().bytes(1, 'axis').int(3, 2).int(20, ATTRIBUTE_INT));
    graph.bytes(1, node);
  }
  graph.bytes(2, 'decodekit-kv-gather');
  for (let index = 0; index < count; index++) {
    graph.bytes(11, valueInfo(gatherInputName(index), elemType, [1, 'heads', 'slots', 'head_dim']));
  }
  graph.bytes(11, valueInfo('indices', INT64, ['kept']));
  for (let index = 0; index < count; index++) {
    graph.bytes(12, valueInfo(gatherOutputName(index), elemType, [1, 'heads', 'kept', 'head_dim']));
  }
  return new Message()
    .int(1, 8) // ir_version
    .bytes(2, 'decodekit')
    .bytes(7, graph)
    .bytes(8, new Message().bytes(1, '').int(2, 13)) // opset_import: ai.onnx 13
    .finish();
}
