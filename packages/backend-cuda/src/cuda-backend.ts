import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  BackendError,
  InvalidArgumentError,
  ModelFormatError,
  createTokenizer,
  type Backend,
} from '@decodekit/core';
import {
  createOnnxBackend,
  readModelFolder,
  type OnnxBackendOptions,
  type OrtRuntime,
  type OrtSessionOptions,
} from '@decodekit/backend-onnx';

/** `capabilities.backendId` of the CUDA backend. */
export const CUDA_BACKEND_ID = 'onnx-cuda';

/** Options of {@link createCudaBackend}. */
export interface CudaBackendOptions extends OnnxBackendOptions {
  /** CUDA device ordinal (default 0; `nvidia-smi -L` lists them). */
  readonly deviceId?: number;
  /**
   * Folder holding onnxruntime-node's native libraries (`libonnxruntime.so.1` and the CUDA provider libraries).
   * Default: onnxruntime-node's own `bin/napi-v6/<platform>/<arch>`. Only used to check the install.
   */
  readonly runtimeDirectory?: string;
}

/** The CUDA provider's shared libraries onnxruntime-node needs next to its own library. */
export function cudaProviderLibraries(
  platform: NodeJS.Platform = process.platform,
): readonly string[] {
  return platform === 'win32'
    ? ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll']
    : ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
}

/** onnxruntime-node's native library folder on this machine, or undefined when the package is not found. */
export function onnxruntimeNodeBinDirectory(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('onnxruntime-node'); // <package>/dist/index.js
    return join(dirname(dirname(main)), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

const installHelp =
  'Install them on a machine with internet access: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@1.30.0` ' +
  '(or `pnpm rebuild onnxruntime-node` with that variable set, after allowing its build script), on Linux x64 or ' +
  'Windows x64 with an NVIDIA driver, the CUDA 12 runtime (cuBLAS, cuFFT, cuRAND, cudart) and cuDNN 9 on the ' +
  'library path. Without a GPU, use the CPU backend (@decodekit/backend-onnx) or WebGPU (@decodekit/backend-webgpu).';

/** Which provider libraries are missing from `directory` (all of them when the folder is unknown). */
export function missingCudaProviderLibraries(directory: string | undefined): string[] {
  const libraries = cudaProviderLibraries();
  if (directory === undefined) return [...libraries];
  return libraries.filter(library => !existsSync(join(directory, library)));
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim();
}

/** Errors of ONNX Runtime that mean "the CUDA provider or the CUDA runtime could not start". */
const cudaFailure =
  /cuda|cudnn|cublas|cufft|curand|providers_shared|providers_cuda|no kernel image|device ordinal|driver/i;

/**
 * The ONNX Runtime CUDA backend for Node (onnxruntime-node, CUDA execution provider). Loads model folders from
 * disk paths or ModelFiles; `capabilities.backendId` is 'onnx-cuda'.
 *
 * onnxruntime-node 1.30 hands device-resident outputs to JavaScript only for WebGPU, so the KV cache comes back
 * to host memory after each forward (as on the CPU backend, with the same zero-copy masked commits); the
 * matrix work runs on the GPU. When the CUDA provider libraries are not installed, `load()` throws a
 * BackendError that says how to install them.
 * @example
 * const model = await createCudaBackend({ deviceId: 0 }).load('/models/stories260K');
 */
export function createCudaBackend(options: CudaBackendOptions = {}): Backend {
  const {
    deviceId = 0,
    runtimeDirectory,
    graphOptimizationLevel = 'all',
    createTokenizer: tokenizerFactory = createTokenizer,
    sessionOptions,
  } = options;
  if (!Number.isInteger(deviceId) || deviceId < 0) {
    throw new InvalidArgumentError({
      argument: 'deviceId',
      message: `must be a non-negative integer (a CUDA device ordinal), got ${String(deviceId)}.`,
    });
  }
  if (runtimeDirectory !== undefined && typeof runtimeDirectory !== 'string') {
    throw new InvalidArgumentError({
      argument: 'runtimeDirectory',
      message: 'must be a folder path.',
    });
  }
  if (!['disabled', 'basic', 'extended', 'all'].includes(graphOptimizationLevel)) {
    throw new InvalidArgumentError({
      argument: 'graphOptimizationLevel',
      message: `must be one of disabled, basic, extended, all, got ${String(graphOptimizationLevel)}.`,
    });
  }

  /** Throws the install instructions unless the provider libraries are where onnxruntime-node loads them. */
  const checkInstall = (): void => {
    if (process.platform !== 'linux' && process.platform !== 'win32') {
      throw new BackendError({
        message: `onnxruntime-node has no CUDA execution provider on ${process.platform}; CUDA needs Linux x64 or Windows x64. Use the CPU or WebGPU backend here.`,
      });
    }
    const directory = runtimeDirectory ?? onnxruntimeNodeBinDirectory();
    const missing = missingCudaProviderLibraries(directory);
    if (missing.length > 0) {
      throw new BackendError({
        message:
          `The CUDA provider libraries of onnxruntime-node are not installed (${missing.join(', ')} missing from ` +
          `${directory ?? "onnxruntime-node's bin folder"}): the npm package ships only the CPU and WebGPU ` +
          `providers, and its install script downloads the CUDA ones. ${installHelp}`,
      });
    }
  };

  const onnx = createOnnxBackend({
    id: CUDA_BACKEND_ID,
    async loadRuntime() {
      const ort = (await import('onnxruntime-node')) as unknown as OrtRuntime;
      return {
        Tensor: ort.Tensor,
        InferenceSession: {
          async create(model: Uint8Array | string, createOptions?: OrtSessionOptions) {
            try {
              return await ort.InferenceSession.create(model as string, createOptions);
            } catch (error) {
              // Provider and driver failures are not a damaged graph: report them as such (see load below).
              if (cudaFailure.test(messageOf(error))) {
                throw new BackendError({
                  message: `ONNX Runtime could not start the CUDA execution provider on device ${deviceId}: ${messageOf(error)}. ${installHelp}`,
                  cause: error,
                });
              }
              throw error;
            }
          },
        },
      } as OrtRuntime;
    },
    sessionOptions: {
      executionProviders: [{ name: 'cuda', deviceId }],
      graphOptimizationLevel,
      executionMode: 'sequential',
      ...sessionOptions,
    } as OrtSessionOptions,
    readSource: readModelFolder,
    acceptsPath: true,
    createTokenizer: tokenizerFactory,
  });

  return {
    id: CUDA_BACKEND_ID,
    async load(source, loadOptions) {
      checkInstall();
      try {
        return await onnx.load(source, loadOptions);
      } catch (error) {
        // backend-onnx reports every session failure as a damaged graph; a provider failure is not one.
        if (ModelFormatError.isInstance(error) && BackendError.isInstance((error as Error).cause)) {
          throw (error as Error).cause;
        }
        throw error;
      }
    },
  };
}
