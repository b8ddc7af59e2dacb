/**
 * @decodekit/backend-webgpu for browsers and workers: onnxruntime-web's WebGPU execution provider, model folders
 * fetched from URLs or given as ModelFiles. No Node APIs.
 */
export { createWebGpuBackend } from './browser-webgpu-backend';
export type { BrowserWebGpuBackendOptions } from './browser-webgpu-backend';
export { WEBGPU_BACKEND_ID } from './webgpu-backend';
export type { WebGpuBackendOptions, WebGpuModel } from './webgpu-backend';
export type { DeviceStats } from './device-model';
