/// <reference types="vite/client" />

declare module 'virtual:decodekit-webgpu' {
  import type { Backend } from '@decodekit/core';
  /** The package name when the workspace had @decodekit/backend-webgpu at build time, else undefined. */
  export const webGpuPackage: string | undefined;
  /** Imports the WebGPU backend's browser entry; rejects with the reason when the build has none. */
  export function loadWebGpuBackend(): Promise<(options?: Record<string, unknown>) => Backend>;
}
