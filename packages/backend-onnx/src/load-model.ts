import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Backend, LoadedModel } from '@decodekit/core';
import { defaultCacheDir, resolveModel, type ResolveModelOptions } from '@decodekit/models/node';
import { fileCostProfile } from './cost-profile';
import { createCpuBackend } from './cpu-backend';
import { findGraphLayout } from './model-folder';

/** Options of `loadModel`: where to look (resolver options) and what runs it (a backend). */
export interface LoadModelOptions extends ResolveModelOptions {
  /** The backend that runs the model. Default: the CPU backend (onnxruntime-node, 1 intra-op thread). */
  backend?: Backend;
}

/**
 * A folder in a layout the backend reads but decodekit's resolver does not know (onnxruntime-genai folders,
 * optimum's flat, merged and split exports): loaded as it is.
 */
async function thirdPartyFolder(ref: string): Promise<string | undefined> {
  const folder = resolve(ref);
  const isDirectory = await stat(folder).then(
    info => info.isDirectory(),
    () => false,
  );
  if (!isDirectory) return undefined;
  // A broken genai_config.json is reported as such (ModelFormatError), not as an unknown folder.
  const layout = await findGraphLayout(folder);
  return layout !== undefined && !(layout.kind === 'hf' && layout.graph === 'onnx/model.onnx')
    ? folder
    : undefined;
}

/**
 * Resolves a model reference and loads it: a model folder (decodekit's, transformers.js', optimum's flat,
 * merged or split exports, or an onnxruntime-genai folder), a folder holding a llama2.c checkpoint and its
 * tokenizer, or a hub id such as `karpathy/tinyllamas/stories260K` (cache, then the `DECODEKIT_MODELS`
 * mirrors, then a Hugging Face download; llama2.c sources are converted once and cached).
 * @example
 * const model = await loadModel('karpathy/tinyllamas/stories260K');
 */
export async function loadModel(
  ref: string,
  { backend = createCpuBackend(), ...resolveOptions }: LoadModelOptions = {},
): Promise<LoadedModel> {
  const folder = (await thirdPartyFolder(ref)) ?? (await resolveModel(ref, resolveOptions));
  const model = await backend.load(folder, { name: ref, signal: resolveOptions.signal });
  // The measured cost curve of adaptive draft sizing persists per model, backend settings and machine.
  const costProfile = fileCostProfile({
    cacheDir: resolveOptions.cacheDir ?? defaultCacheDir(),
    modelFolder: folder,
    backendKey: backend.profileKey ?? backend.id,
  });
  return Object.assign(model, { costProfile });
}
