import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX element types used by decodekit graphs. */
export const ElemType = {
  float: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
} as const;

/** Where an externally stored initializer's bytes are. */
export interface ExternalData {
  /** File name relative to the model file's folder. */
  readonly location: string;
  /** Byte offset in that file. */
  readonly offset: number;
  /** Byte length. */
  readonly length: number;
}
/** The operator domain of ONNX Runtime's contrib operators (MatMulNBits, ...). */
export const MS_DOMAIN = 'com.microsoft';

/** One dimension of a declared shape: a fixed size or a symbolic name. */
export type Dim = number | string;

/** An attribute value: integers become INT, integer arrays INTS, `{ f }` FLOAT, graphs GRAPH. */
export type AttrValue =
  number | readonly number[] | { readonly f: number } | onnxProto.onnx.IGraphProto;

/** A small, append-only writer of one ONNX graph (or subgraph). Node output names are generated uniquely. */
export interface GraphWriter {
  /** Adds a node; returns its output names (`outputs` = how many, or explicit names). */
  op(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrValue>,
    outputs?: number | readonly string[],
    /** Operator domain (default: the ONNX domain; {@link MS_DOMAIN} for ONNX Runtime's contrib operators). */
    domain?: string,
  ): string[];
  /** Adds a single-output node and returns its output name. */
  op1(
    opType: string,
    inputs: readonly string[],
    attrs?: Record<string, AttrValue>,
    output?: string,
  ): string;
  /** Adds an fp32 initializer stored as raw_data. */
  float(name: string, dims: readonly number[], data: Float32Array): string;
  /**
   * Adds an fp32 initializer whose bytes live in an external data file (ONNX external data: `location`
   * relative to the model file, byte `offset` and `length`), so graphs larger than protobuf's 2 GiB and
   * conversions that stream their weights never hold the tensor in the proto.
   */
  externalFloat(name: string, dims: readonly number[], data: ExternalData): string;
  /** Adds an initializer of any element type from its little-endian bytes (raw_data). */
  tensor(name: string, dims: readonly number[], dataType: number, data: ArrayBufferView): string;
  /** Adds a single-output node of ONNX Runtime's `com.microsoft` domain and returns its output name. */
  contrib(opType: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string;
  /** Adds an int64 initializer (used for shapes and axes). */
  int64(dims: readonly number[], values: readonly number[], name?: string): string;
  /** Adds a graph input. */
  input(name: string, elemType: number, shape?: readonly Dim[]): string;
  /** Declares a graph output (the value must be produced by a node of this graph). */
  output(name: string, elemType: number, shape?: readonly Dim[]): string;
  /** A writer for an `If` branch; shares this writer's name counter, initializers live in the main graph. */
  subgraph(): GraphWriter;
  /** The GraphProto built so far. */
  toGraph(name: string): onnxProto.onnx.IGraphProto;
}

interface Shared {
  counter: number;
  initializers: onnxProto.onnx.ITensorProto[];
  constants: Map<string, string>;
}

function valueInfo(
  name: string,
  elemType: number,
  shape?: readonly Dim[],
): onnxProto.onnx.IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType };
  if (shape) {
    tensorType.shape = {
      dim: shape.map(dim => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
    };
  }
  return { name, type: { tensorType } };
}

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: types.INT, i: value };
  if (Array.isArray(value)) return { name, type: types.INTS, ints: value as number[] };
  if ('f' in (value as object)) return { name, type: types.FLOAT, f: (value as { f: number }).f };
  return { name, type: types.GRAPH, g: value as onnxProto.onnx.IGraphProto };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function makeWriter(shared: Shared, isMain: boolean): GraphWriter {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const writer: GraphWriter = {
    op(opType, nodeInputs, attrs = {}, outs = 1, domain) {
      const id = shared.counter++;
      const names =
        typeof outs === 'number'
          ? Array.from({ length: outs }, (_, i) => `/${opType}_${id}/${i}`)
          : [...outs];
      nodes.push({
        name: `${opType}_${id}`,
        opType,
        ...(domain === undefined ? {} : { domain }),
        input: [...nodeInputs],
        output: names,
        attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
      });
      return names;
    },
    op1(opType, nodeInputs, attrs, output) {
      return writer.op(opType, nodeInputs, attrs, output === undefined ? 1 : [output])[0];
    },
    tensor(name, dims, dataType, data) {
      shared.initializers.push({ name, dims: [...dims], dataType, rawData: bytesOf(data) });
      return name;
    },
    contrib(opType, nodeInputs, attrs = {}) {
      return writer.op(opType, nodeInputs, attrs, 1, MS_DOMAIN)[0];
    },
    float(name, dims, data) {
      shared.initializers.push({
        name,
        dims: [...dims],
        dataType: ElemType.float,
        rawData: bytesOf(data),
      });
      return name;
    },
    externalFloat(name, dims, { location, offset, length }) {
      shared.initializers.push({
        name,
        dims: [...dims],
        dataType: ElemType.float,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(length) },
        ],
      });
      return name;
    },
    int64(dims, values, name) {
      const key = `${dims.join('x')}:${values.join(',')}`;
      const existing = shared.constants.get(key);
      if (existing && name === undefined) return existing;
      const tensorName = name ?? `const_i64_${shared.counter++}`;
      const data = new BigInt64Array(values.map(value => BigInt(value)));
      shared.initializers.push({
        name: tensorName,
        dims: [...dims],
        dataType: ElemType.int64,
        rawData: bytesOf(data),
      });
      if (name === undefined) shared.constants.set(key, tensorName);
      return tensorName;
    },
    input(name, elemType, shape) {
      inputs.push(valueInfo(name, elemType, shape));
      return name;
    },
    output(name, elemType, shape) {
      outputs.push(valueInfo(name, elemType, shape));
      return name;
    },
    subgraph() {
      return makeWriter(shared, false);
    },
    toGraph(name) {
      return {
        name,
        node: nodes,
        input: inputs,
        output: outputs,
        initializer: isMain ? shared.initializers : [],
      };
    },
  };
  return writer;
}

/** A new writer for a main graph. */
export function createGraphWriter(): GraphWriter {
  return makeWriter({ counter: 0, initializers: [], constants: new Map() }, true);
}

/** True when `graph` has a node of the `com.microsoft` domain (in it or in an `If` branch). */
function usesContribOps(graph: onnxProto.onnx.IGraphProto): boolean {
  return (graph.node ?? []).some(
    node =>
      node.domain === MS_DOMAIN ||
      (node.attribute ?? []).some(
        attr => attr.g !== undefined && attr.g !== null && usesContribOps(attr.g),
      ),
  );
}

/** Encodes a ModelProto (IR version 8, default-domain opset `opset`) around `graph`. */
export function encodeModel(
  graph: onnxProto.onnx.IGraphProto,
  {
    opset = 17,
    producer = 'decodekit',
    metadata = {},
  }: { opset?: number; producer?: string; metadata?: Record<string, string> } = {},
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: opset },
      ...(usesContribOps(graph) ? [{ domain: MS_DOMAIN, version: 1 }] : []),
    ],
    producerName: producer,
    producerVersion: '0.0.0',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Decodes an ONNX model (for inspection and validation). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
