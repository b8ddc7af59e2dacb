import type { Backend } from '@decodekit/core';
import { defaultTokenizerFactory } from './default-tokenizer';
import { fetchModelFiles, type FetchFunction } from './model-url';
import { createWasmBackendOn, type WasmBackendOptions } from './wasm-backend';

/** Options of the browser `createWasmBackend`. */
export interface BrowserWasmBackendOptions extends WasmBackendOptions {
  /** The fetch used to read model folders given as URLs (default: the global fetch). */
  readonly fetch?: FetchFunction;
}

/**
 * The onnxruntime-web wasm backend for browsers (and workers). `load(url)` fetches the model folder served at
 * `url`; `load(files)` takes ModelFiles already read. `capabilities.backendId` is 'onnx-wasm'.
 */
export function createWasmBackend({ fetch, ...options }: BrowserWasmBackendOptions = {}): Backend {
  return createWasmBackendOn(
    {
      importRuntime: () => import('onnxruntime-web/wasm'),
      readSource: (url, signal) => fetchModelFiles(url, { fetch, signal }),
      defaultTokenizer: defaultTokenizerFactory,
    },
    options,
  );
}
