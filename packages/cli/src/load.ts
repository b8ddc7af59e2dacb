import { InvalidArgumentError, type Backend, type LoadedModel } from '@decodekit/core';
import { createCpuBackend, createWasmBackend, loadModel } from '@decodekit/backend-onnx';
import { createCudaBackend } from '@decodekit/backend-cuda';
import { createWebGpuBackend } from '@decodekit/backend-webgpu';
import { HUB_DTYPES, parseHubDtype } from '@decodekit/models';

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
        throw new InvalidArgumentError({
          argument: '--backend',
          message: `cuda:N needs a device number, got "${device}".`,
        });
      }
      return createCudaBackend({ deviceId });
    }
    default:
      throw new InvalidArgumentError({
        argument: '--backend',
        message: `unknown backend "${name}"; use ${BACKENDS.join(', ')} (cuda:N for device N).`,
      });
  }
}

/** What `--dtype` accepts (transformers.js file naming: `onnx/model_q4.onnx` is `q4`). */
export const DTYPE_HELP = `graph dtype of a hub model: ${Object.keys(HUB_DTYPES).join(' | ')} (default fp32)`;

/** Model options shared by the commands that load a model. */
export interface CliModelOptions {
  /** `--dtype`: which graph of a hub model to download and load. */
  readonly dtype?: string;
  /** `--offline`: never download (HF_HUB_OFFLINE / DECODEKIT_OFFLINE do the same). */
  readonly offline?: boolean;
  /** ONNX Runtime intra-op threads on the CPU backend (default: the backend's). */
  readonly intraOpNumThreads?: number;
}

/** Checks `--dtype` before anything is downloaded. */
export function checkDtype(dtype: string | undefined): string | undefined {
  if (dtype === undefined) return undefined;
  try {
    return parseHubDtype(dtype);
  } catch {
    throw new InvalidArgumentError({
      argument: '--dtype',
      message: `unknown dtype "${dtype}"; use ${Object.keys(HUB_DTYPES).join(', ')}.`,
    });
  }
}

/**
 * Resolves and loads a model for a command, with download progress on stderr. Hub ids (`org/name@revision`)
 * download through `HF_ENDPOINT` with `HF_TOKEN`; `HF_HUB_OFFLINE`/`DECODEKIT_OFFLINE` or `--offline` forbid it.
 */
export function loadForCli(
  ref: string | undefined,
  backend: string,
  options: CliModelOptions = {},
): Promise<LoadedModel> {
  return loadModel(ref ?? DEFAULT_MODEL, {
    backend: backendByName(backend, options.intraOpNumThreads),
    dtype: checkDtype(options.dtype),
    ...(options.offline ? { offline: true } : {}),
  });
}
