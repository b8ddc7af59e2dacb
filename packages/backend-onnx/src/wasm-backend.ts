import type { Backend } from '@decodekit/core';
import {
  createOnnxBackend,
  type ModelSourceFiles,
  type OnnxBackendOptions,
  type TokenizerFactory,
} from './onnx-backend';
import { checkOptimizationLevel, checkThreads } from './options';
import type { OrtRuntime, OrtSessionOptions } from './ort-runtime';

/** Options of `createWasmBackend`. */
export interface WasmBackendOptions extends OnnxBackendOptions {
  /**
   * `ort.env.wasm.numThreads` (default 1). More than 1 needs a cross-origin-isolated page in browsers.
   * NOTE: `ort.env` is global to the page/process and read when the first session is created.
   */
  readonly numThreads?: number;
  /**
   * `ort.env.wasm.wasmPaths`: where the `ort-wasm-*.wasm|mjs` files are served. In Node it defaults to
   * onnxruntime-web's own `dist/`; in browsers to ONNX Runtime's default (next to the bundle).
   */
  readonly wasmPaths?: string | Readonly<Record<string, string>>;
}

/** The `ort.env` part the wasm backend configures. */
interface OrtWebRuntime extends OrtRuntime {
  readonly env: { wasm: { numThreads?: number; wasmPaths?: unknown } };
}

/** What differs between the Node and the browser wasm backend. */
export interface WasmPlatform {
  readonly importRuntime: () => Promise<unknown>;
  readonly readSource: (source: string, signal?: AbortSignal) => Promise<ModelSourceFiles>;
  readonly defaultWasmPaths?: () => string | undefined;
  readonly defaultTokenizer: TokenizerFactory;
}

/** The onnxruntime-web wasm backend on a given platform (see `createWasmBackend` in each entry). */
export function createWasmBackendOn(
  platform: WasmPlatform,
  {
    numThreads = 1,
    wasmPaths,
    graphOptimizationLevel = 'all',
    createTokenizer,
    sessionOptions,
  }: WasmBackendOptions = {},
): Backend {
  checkThreads(numThreads, 'numThreads');
  checkOptimizationLevel(graphOptimizationLevel);
  return createOnnxBackend({
    id: 'onnx-wasm',
    async loadRuntime() {
      const ort = (await platform.importRuntime()) as OrtWebRuntime;
      ort.env.wasm.numThreads = numThreads;
      const paths = wasmPaths ?? platform.defaultWasmPaths?.();
      if (paths !== undefined) ort.env.wasm.wasmPaths = paths;
      return ort;
    },
    sessionOptions: {
      executionProviders: ['wasm'],
      graphOptimizationLevel,
      executionMode: 'sequential',
      ...sessionOptions,
    } as OrtSessionOptions,
    readSource: platform.readSource,
    acceptsPath: false,
    createTokenizer: createTokenizer ?? platform.defaultTokenizer,
  });
}
