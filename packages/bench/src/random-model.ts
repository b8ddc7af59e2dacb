import { createCpuBackend } from '@decodekit/backend-onnx';
import { ModelFormatError, type Backend, type LoadedModel, type ModelFiles } from '@decodekit/core';
import {
  buildRandomLlama,
  type ModelFolderFiles,
  type RandomLlamaOptions,
} from '@decodekit/models';
import { measureCostCurve, type CostCurveOptions, type CostPoint } from './cost-curve.js';

/** Turns an in-memory model folder (as the converters and fixtures return it) into a backend's ModelFiles. */
export function modelFilesFrom(files: ModelFolderFiles): ModelFiles {
  const decoder = new TextDecoder();
  const json = (path: string, required: boolean): Record<string, unknown> | undefined => {
    const content = files[path];
    if (content === undefined) {
      if (!required) return undefined;
      throw new ModelFormatError({ path, message: 'is missing from the model files.' });
    }
    try {
      return JSON.parse(typeof content === 'string' ? content : decoder.decode(content)) as Record<
        string,
        unknown
      >;
    } catch (error) {
      throw new ModelFormatError({ path, message: 'is not valid JSON.', cause: error });
    }
  };
  const onnx = files['onnx/model.onnx'];
  if (!(onnx instanceof Uint8Array)) {
    throw new ModelFormatError({
      path: 'onnx/model.onnx',
      message: 'is missing from the model files (or is not bytes).',
    });
  }
  return {
    config: json('config.json', true) ?? {},
    generationConfig: json('generation_config.json', false),
    tokenizer: json('tokenizer.json', true) ?? {},
    tokenizerConfig: json('tokenizer_config.json', false),
    onnx,
  };
}

/** Options of {@link loadRandomLlama}: `buildRandomLlama`'s, all optional, plus the backend. */
export interface RandomBenchModelOptions extends Partial<RandomLlamaOptions> {
  /** Where to load it. Default: `createCpuBackend()` (1 intra-op thread). */
  readonly backend?: Backend;
}

/**
 * A seeded random Llama of about 25M parameters (dim 512, 8 layers, 8 heads, hidden 1376, vocab 512 — the
 * size of the tok512 vocabulary; pass `tokenizer` with `tok512.bin` bytes to use the real one), built in
 * memory and loaded without touching the disk. Its weights are noise, so its text is too: use it for cost
 * curves and throughput in the compute-bound regime, where a single-token step is no longer dominated by
 * runtime overhead as it is for stories260K.
 */
export async function loadRandomLlama(options: RandomBenchModelOptions = {}): Promise<LoadedModel> {
  const { backend = createCpuBackend(), ...buildOptions } = options;
  const seed = buildOptions.seed ?? 0;
  const name = buildOptions.name ?? `random-llama-25m-seed${seed}`;
  const { files } = buildRandomLlama({ ...buildOptions, seed, name });
  return backend.load(modelFilesFrom(files), { name });
}

/** The cost curve of the ~25M random Llama ({@link loadRandomLlama}), with the model's name. */
export async function measureRandomLlamaCostCurve(
  options: RandomBenchModelOptions & { readonly curve?: CostCurveOptions } = {},
): Promise<{ model: string; curve: CostPoint[] }> {
  const { curve, ...modelOptions } = options;
  const model = await loadRandomLlama(modelOptions);
  try {
    return { model: model.info.name, curve: await measureCostCurve(model, curve) };
  } finally {
    await model.dispose();
  }
}
