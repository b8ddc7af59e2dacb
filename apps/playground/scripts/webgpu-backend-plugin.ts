import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

const virtualId = 'virtual:decodekit-webgpu';
const resolvedId = `\0${virtualId}`;

/**
 * `virtual:decodekit-webgpu` exports `loadWebGpuBackend()`: a dynamic import of @decodekit/backend-webgpu's
 * browser entry when that workspace package exists, else a function that reports why WebGPU is off. The
 * app imports it lazily, so the WebGPU runtime (and its larger wasm) is only fetched when chosen.
 */
export function webGpuBackendPlugin({ packageDir }: { packageDir: string }): Plugin {
  return {
    name: 'decodekit:webgpu-backend',
    resolveId(id) {
      return id === virtualId ? resolvedId : undefined;
    },
    load(id) {
      if (id !== resolvedId) return undefined;
      const entry = ['src/browser.ts', 'src/index.ts']
        .map(file => join(packageDir, file))
        .find(file => existsSync(file));
      if (entry) {
        return [
          `export const webGpuPackage = ${JSON.stringify('@decodekit/backend-webgpu')};`,
          `export async function loadWebGpuBackend() {`,
          `  const module = await import(${JSON.stringify(entry)});`,
          `  if (typeof module.createWebGpuBackend !== 'function') throw new Error('@decodekit/backend-webgpu has no createWebGpuBackend export.');`,
          `  return module.createWebGpuBackend;`,
          `}`,
        ].join('\n');
      }
      return [
        `export const webGpuPackage = undefined;`,
        `export async function loadWebGpuBackend() {`,
        `  throw new Error('This build has no WebGPU backend: @decodekit/backend-webgpu was not in the workspace when it was built.');`,
        `}`,
      ].join('\n');
    },
  };
}
