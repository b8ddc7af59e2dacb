/**
 * The part of the ONNX Runtime JavaScript API that decodekit uses. `onnxruntime-node`, `onnxruntime-web` (and
 * `onnxruntime-react-native`) all expose this API from `onnxruntime-common`; every ONNX backend passes its own
 * `ort` namespace, so the loading, I/O binding and KV cache code is written once.
 *
 * The types are structural on purpose: `onnxruntime-common` is not a dependency of this package, and the browser
 * entry must not pull `onnxruntime-node`'s types.
 */

/** Element types decodekit feeds or reads. */
export type OrtTensorType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';

/** Tensor data decodekit feeds or reads (`bool` tensors are Uint8Array, `float16` tensors Uint16Array bits). */
export type OrtTensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** An ONNX Runtime tensor (CPU location). */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** Static description of one graph input or output (names, element type, possibly symbolic shape). */
export type OrtValueMetadata =
  | { readonly name: string; readonly isTensor: false }
  | {
      readonly name: string;
      readonly isTensor: true;
      readonly type: string;
      readonly shape: ReadonlyArray<number | string>;
    };

/** ONNX Runtime session options decodekit sets. */
export interface OrtSessionOptions {
  executionProviders?: readonly unknown[];
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  /** External data files of a graph given as bytes (onnxruntime-web), by the name the graph uses. */
  externalData?: ReadonlyArray<{ readonly path: string; readonly data: Uint8Array }>;
}

/** One loaded graph. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Present in onnxruntime-common ≥ 1.21; older runtimes lack it. */
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
  run(
    feeds: Record<string, OrtTensor>,
    fetches: readonly string[],
    /** Run options; decodekit only sets `logSeverityLevel` (its load-time probe expects failures). */
    options?: { logSeverityLevel?: 0 | 1 | 2 | 3 | 4 },
  ): Promise<Readonly<Record<string, OrtTensor>>>;
  release(): Promise<void>;
}

/** The `ort` namespace an ONNX backend is built on. */
export interface OrtRuntime {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession>;
    create(path: string, options?: OrtSessionOptions): Promise<OrtSession>;
  };
  readonly Tensor: new (
    type: OrtTensorType,
    data: OrtTensorData,
    dims: readonly number[],
  ) => OrtTensor;
}
