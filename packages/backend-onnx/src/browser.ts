/**
 * @decodekit/backend-onnx for browsers and workers: the wasm backend (onnxruntime-web) with model folders
 * loaded from URLs or ModelFiles. No Node APIs.
 */
export { createWasmBackend } from './browser-wasm-backend';
export type { BrowserWasmBackendOptions } from './browser-wasm-backend';
export type { WasmBackendOptions } from './wasm-backend';
export { fetchModelFiles } from './model-url';
export type { FetchFunction } from './model-url';
export { createOnnxBackend, describeGraph } from './onnx-backend';
export type { MultiRowSupport } from './onnx-model';
export type {
  GraphReport,
  GraphSource,
  ModelSourceFiles,
  OnnxBackendConfig,
  OnnxBackendOptions,
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
