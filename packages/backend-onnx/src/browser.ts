/**
 * @decodekit/backend-onnx for browsers and workers: the wasm backend (onnxruntime-web) with model folders
 * loaded from URLs or ModelFiles. No Node APIs.
 */
export { createWasmBackend } from './browser-wasm-backend';
export type { BrowserWasmBackendOptions } from './browser-wasm-backend';
export * from './portable';
