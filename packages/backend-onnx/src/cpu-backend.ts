import type { Backend } from '@decodekit/core';
import { defaultTokenizerFactory } from './default-tokenizer';
import { readModelFolder } from './model-folder';
import { createOnnxBackend, type OnnxBackendOptions } from './onnx-backend';
import { checkOptimizationLevel, checkThreads } from './options';
import type { OrtRuntime, OrtSessionOptions } from './ort-runtime';

/** Options of {@link createCpuBackend}. */
export interface CpuBackendOptions extends OnnxBackendOptions {
  /**
   * Threads inside one operator (default 1). Small models (stories260K, llama2xs) run fastest with 1: the
   * per-token work is too small to split, and extra threads only add synchronization.
   */
  readonly intraOpNumThreads?: number;
  /** Threads across independent operators (default 1; only used with `executionMode: 'parallel'`). */
  readonly interOpNumThreads?: number;
}

/**
 * The ONNX Runtime CPU backend for Node (onnxruntime-node). Loads model folders from disk paths or
 * already-read ModelFiles; `capabilities.backendId` is 'onnx-cpu'. Folders with `onnx/model_embeds.onnx` (every
 * non-plain conversion) also serve `forward({ embeddings })` and `embeddingTable()` (`capabilities.inputEmbeddings`).
 */
export function createCpuBackend({
  intraOpNumThreads = 1,
  interOpNumThreads = 1,
  graphOptimizationLevel = 'all',
  createTokenizer = defaultTokenizerFactory,
  sessionOptions,
}: CpuBackendOptions = {}): Backend {
  checkThreads(intraOpNumThreads, 'intraOpNumThreads');
  checkThreads(interOpNumThreads, 'interOpNumThreads');
  checkOptimizationLevel(graphOptimizationLevel);
  const backend = createOnnxBackend({
    id: 'onnx-cpu',
    loadRuntime: async () => (await import('onnxruntime-node')) as OrtRuntime,
    sessionOptions: {
      executionProviders: ['cpu'],
      graphOptimizationLevel,
      intraOpNumThreads,
      interOpNumThreads,
      executionMode: 'sequential',
      ...sessionOptions,
    } as OrtSessionOptions,
    readSource: readModelFolder,
    acceptsPath: true,
    createTokenizer,
    inputEmbeddings: true,
  });
  return {
    ...backend,
    load: backend.load,
    profileKey: `onnx-cpu:intra=${intraOpNumThreads}:inter=${interOpNumThreads}:opt=${graphOptimizationLevel}`,
  };
}
