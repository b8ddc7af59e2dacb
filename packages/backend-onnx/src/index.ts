/**
 * @decodekit/backend-onnx for Node: the ONNX Runtime CPU backend (onnxruntime-node), the wasm backend
 * (onnxruntime-web) and model folder loading from disk. Browsers get `./browser.ts` instead.
 */
export { createCpuBackend } from './cpu-backend';
export type { CpuBackendOptions } from './cpu-backend';
export { createWasmBackend } from './node-wasm-backend';
export { readModelFolder } from './model-folder';
export { loadModel } from './load-model';
export type { LoadModelOptions } from './load-model';
export * from './portable';
