/**
 * @decodekit/backend-webgpu for Node: onnxruntime-node's WebGPU execution provider (Dawn), model folders read
 * from disk. Browsers get `./browser.ts` (onnxruntime-web/webgpu) instead.
 */
export { createWebGpuBackend } from './node-webgpu-backend';
export type { NodeWebGpuBackendOptions } from './node-webgpu-backend';
export { WEBGPU_BACKEND_ID } from './webgpu-backend';
export type { WebGpuBackendOptions, WebGpuModel } from './webgpu-backend';
export type { DeviceStats } from './device-model';
export { DEFAULT_VULKAN_LIBRARIES, preloadVulkanLoader } from './vulkan-loader';
