import { InvalidArgumentError, type Backend, type LoadedModel } from '@decodekit/core';
import { createCpuBackend, createWasmBackend } from '@decodekit/backend-onnx';
import { loadModel } from '@decodekit/backend-onnx';

export const DEFAULT_MODEL = 'karpathy/tinyllamas/stories260K';

/** Backend by CLI name. */
export function backendByName(name: string): Backend {
  switch (name) {
    case 'cpu':
      return createCpuBackend();
    case 'wasm':
      return createWasmBackend();
    default:
      throw new InvalidArgumentError({ argument: '--backend', message: `unknown backend "${name}"; use cpu or wasm.` });
  }
}

/** Resolves and loads a model for a command, with download progress on stderr. */
export function loadForCli(ref: string | undefined, backend: string): Promise<LoadedModel> {
  return loadModel(ref ?? DEFAULT_MODEL, { backend: backendByName(backend) });
}
