import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Backend } from '@decodekit/core';
import { defaultTokenizerFactory } from './default-tokenizer';
import { readModelFolder } from './model-folder';
import { createWasmBackendOn, type WasmBackendOptions } from './wasm-backend';

/** onnxruntime-web's `dist/` folder as a file URL, where its wasm binaries live. */
function onnxruntimeWebDist(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return `${pathToFileURL(dirname(require.resolve('onnxruntime-web'))).href}/`;
  } catch {
    return undefined; // Let ONNX Runtime find its files itself.
  }
}

/**
 * The onnxruntime-web wasm backend, in Node (tests, parity checks with browsers). Loads model folders from
 * disk paths or ModelFiles; `capabilities.backendId` is 'onnx-wasm'.
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  return createWasmBackendOn(
    {
      importRuntime: () => import('onnxruntime-web'),
      readSource: readModelFolder,
      defaultWasmPaths: onnxruntimeWebDist,
      defaultTokenizer: defaultTokenizerFactory,
    },
    options,
  );
}
