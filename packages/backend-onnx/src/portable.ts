/**
 * What the Node entry (`./index.ts`) and the browser entry (`./browser.ts`) both export: the loader that turns
 * model files into a backend, URL fetching and the ONNX Runtime types. No Node APIs.
 */
export type { WasmBackendOptions } from './wasm-backend';
export { fetchModelFiles } from './model-url';
export type { FetchFunction } from './model-url';
export { createOnnxBackend, describeGraph, seq2seqCounters } from './onnx-backend';
export type { MultiRowSupport } from './onnx-model';
export type {
  GraphReport,
  GraphSource,
  ModelSourceFiles,
  OnnxBackendConfig,
  OnnxBackendOptions,
  Seq2SeqCounters,
  TokenizerFactory,
} from './onnx-backend';
export type {
  OrtRuntime,
  OrtSession,
  OrtSessionOptions,
  OrtTensor,
  OrtTensorData,
  OrtTensorType,
  OrtValueMetadata,
} from './ort-runtime';
