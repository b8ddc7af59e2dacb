import {
  createTokenizer,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type Backend,
} from '@decodekit/core';
import {
  createOnnxBackend,
  describeGraph,
  fetchModelFiles,
  type FetchFunction,
} from '@decodekit/backend-onnx/browser';
import type { DeviceRuntime } from './device-model';
import {
  WEBGPU_BACKEND_ID,
  createWebGpuBackendOn,
  type WebGpuBackendOptions,
} from './webgpu-backend';

/** Options of the browser `createWebGpuBackend`. */
export interface BrowserWebGpuBackendOptions extends WebGpuBackendOptions {
  /** The fetch used to read model folders given as URLs (default: the global fetch). */
  readonly fetch?: FetchFunction;
  /**
   * `ort.env.wasm.wasmPaths`: where onnxruntime-web's `ort-wasm-*.wasm|mjs` files are served (its WebGPU build
   * still runs the CPU parts in wasm). Default: ONNX Runtime's own (next to the bundle).
   */
  readonly wasmPaths?: string | Readonly<Record<string, string>>;
}

const browserHint =
  'Use a browser with WebGPU (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) on a GPU it supports; ' +
  'headless or GPU-less Chromium needs --enable-unsafe-webgpu (it then uses SwiftShader). Or use the wasm ' +
  'backend of @decodekit/backend-onnx.';

interface GpuNavigator {
  readonly gpu?: { requestAdapter(): Promise<unknown> };
}

/**
 * The WebGPU backend for browsers and workers: onnxruntime-web's WebGPU execution provider with the KV cache kept
 * in GPU buffers between forwards. `load(url)` fetches the model folder served at `url`; `load(files)` takes
 * ModelFiles. `capabilities.backendId` is 'onnx-webgpu'. Without WebGPU, `load()` throws an
 * UnsupportedCapabilityError that says how to get it.
 * @example
 * const model = await createWebGpuBackend().load('/models/stories260K/');
 */
export function createWebGpuBackend({
  fetch,
  wasmPaths,
  ...options
}: BrowserWebGpuBackendOptions = {}): Backend {
  if (fetch !== undefined && typeof fetch !== 'function') {
    throw new InvalidArgumentError({ argument: 'fetch', message: 'must be a function.' });
  }
  return createWebGpuBackendOn(
    {
      async importRuntime() {
        const ort = await import('onnxruntime-web/webgpu');
        if (wasmPaths !== undefined) ort.env.wasm.wasmPaths = wasmPaths as string;
        return ort as unknown as DeviceRuntime;
      },
      async checkAvailable() {
        const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
        const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
        if (adapter === null || adapter === undefined) {
          throw new UnsupportedCapabilityError({
            capability: 'webgpu',
            backendId: WEBGPU_BACKEND_ID,
            hint: `${gpu ? 'navigator.gpu.requestAdapter() returned no adapter' : 'this page has no navigator.gpu'}. ${browserHint}`,
          });
        }
      },
      readSource: (url, signal) => fetchModelFiles(url, { fetch, signal }),
      acceptsPath: false,
      adapterHint: browserHint,
      defaultTokenizer: createTokenizer,
      createOnnxBackend,
      describeGraph,
    },
    options,
  );
}
