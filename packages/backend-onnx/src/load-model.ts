import type { Backend, LoadedModel } from '@decodekit/core';
import { defaultCacheDir, resolveModel, type ResolveModelOptions } from '@decodekit/models/node';
import { fileCostProfile } from './cost-profile';
import { createCpuBackend } from './cpu-backend';

/** Options of `loadModel`: where to look (resolver options) and what runs it (a backend). */
export interface LoadModelOptions extends ResolveModelOptions {
  /** The backend that runs the model. Default: the CPU backend (onnxruntime-node, 1 intra-op thread). */
  backend?: Backend;
}

/**
 * Resolves a model reference and loads it: a model folder, a folder holding a llama2.c checkpoint and its
 * tokenizer, or a hub id such as `karpathy/tinyllamas/stories260K` (cache, then the `DECODEKIT_MODELS`
 * mirrors, then a Hugging Face download; llama2.c sources are converted once and cached).
 * @example
 * const model = await loadModel('karpathy/tinyllamas/stories260K');
 */
export async function loadModel(ref: string, { backend = createCpuBackend(), ...resolveOptions }: LoadModelOptions = {}): Promise<LoadedModel> {
  const folder = await resolveModel(ref, resolveOptions);
  const model = await backend.load(folder, { name: ref, signal: resolveOptions.signal });
  // The measured cost curve of adaptive draft sizing persists per model, backend settings and machine.
  const costProfile = fileCostProfile({
    cacheDir: resolveOptions.cacheDir ?? defaultCacheDir(),
    modelFolder: folder,
    backendKey: backend.profileKey ?? backend.id,
  });
  return Object.assign(model, { costProfile });
}
