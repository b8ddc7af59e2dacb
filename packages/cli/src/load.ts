import { InvalidArgumentError, type Backend, type LoadedModel } from '@decodekit/core';
import { createCpuBackend, createWasmBackend, loadModel } from '@decodekit/backend-onnx';
import { createCudaBackend } from '@decodekit/backend-cuda';
import { createWebGpuBackend } from '@decodekit/backend-webgpu';

export const DEFAULT_MODEL = 'karpathy/tinyllamas/stories260K';

/** The names `--backend` accepts. */
export const BACKENDS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;

/**
 * Backend by CLI name. `cuda` and `cuda:N` pick a device; errors (no adapter, no CUDA provider libraries)
 * come from `load()` and say how to fix them. `intraOpNumThreads` applies to the CPU backend.
 */
export function backendByName(name: string, intraOpNumThreads?: number): Backend {
  const [kind, device] = name.split(':');
  switch (kind) {
    case 'cpu':
      return createCpuBackend({ intraOpNumThreads });
    case 'wasm':
      return createWasmBackend();
    case 'webgpu':
      return createWebGpuBackend();
    case 'cuda': {
      const deviceId = device === undefined ? 0 : Number(device);
      if (!Number.isInteger(deviceId) || deviceId < 0) {
        throw new InvalidArgumentError({ argument: '--backend', message: `cuda:N needs a device number, got "${device}".` });
      }
      return createCudaBackend({ deviceId });
    }
    default:
      throw new InvalidArgumentError({ argument: '--backend', message: `unknown backend "${name}"; use ${BACKENDS.join(', ')} (cuda:N for device N).` });
  }
}

/** Resolves and loads a model for a command, with download progress on stderr. */
export function loadForCli(
  ref: string | undefined,
  backend: string,
  intraOpNumThreads?: number,
): Promise<LoadedModel> {
  return loadModel(ref ?? DEFAULT_MODEL, { backend: backendByName(backend, intraOpNumThreads) });
}
