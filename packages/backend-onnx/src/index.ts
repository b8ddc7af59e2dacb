/**
 * @decodekit/backend-onnx for Node: the ONNX Runtime CPU backend (onnxruntime-node), the wasm backend
 * (onnxruntime-web) and model folder loading from disk. Browsers get `./browser.ts` instead.
 */
export { createCpuBackend } from './cpu-backend';
export type { CpuBackendOptions } from './cpu-backend';
export { createWasmBackend } from './node-wasm-backend';
export type { WasmBackendOptions } from './wasm-backend';
export { readModelFolder } from './model-folder';
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
export { loadModel } from './load-model';
export type { LoadModelOptions } from './load-model';
