import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFormatError, ModelNotFoundError, throwIfAborted } from '@decodekit/core';
import type { ModelSourceFiles } from './onnx-backend';

const layoutHint =
  'A model folder needs config.json, tokenizer.json and onnx/model.onnx (generation_config.json and ' +
  'tokenizer_config.json are optional). Convert a llama2.c checkpoint with `decodekit convert`, or resolve ' +
  'hub ids with loadModel() from @decodekit/models.';

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readJson(
  folder: string,
  file: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  const path = join(folder, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error) && !required) return undefined;
    if (isMissing(error)) throw new ModelFormatError({ path, message: `missing. ${layoutHint}` });
    throw new ModelFormatError({
      path,
      message: `could not be read: ${(error as Error).message}`,
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError({
      path,
      message: `is not valid JSON (${(error as Error).message}). Download or convert the model again.`,
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFormatError({ path, message: 'must hold a JSON object.' });
  }
  return value as Record<string, unknown>;
}

/**
 * Reads a model folder (Hugging Face / transformers.js layout) from disk. The graph is returned as a path so
 * onnxruntime-node can open it (and its external data) itself; `read()` gives the bytes to other runtimes.
 * `onnx/model_embeds.onnx` (the `inputs_embeds` variant, docs/graph-io.md) is returned as `embedsOnnx` when present.
 */
export async function readModelFolder(
  folder: string,
  signal?: AbortSignal,
): Promise<ModelSourceFiles> {
  const absolute = resolve(folder);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(absolute)).isDirectory();
  } catch (error) {
    if (!isMissing(error))
      throw new ModelFormatError({
        path: absolute,
        message: `could not be read: ${(error as Error).message}`,
        cause: error,
      });
    throw new ModelNotFoundError({
      ref: folder,
      searched: [absolute],
      hint: `The folder does not exist. ${layoutHint}`,
    });
  }
  if (!isDirectory) {
    throw new ModelFormatError({
      path: absolute,
      message: `is a file, not a model folder. ${layoutHint}`,
    });
  }
  const [config, generationConfig, tokenizer, tokenizerConfig] = await Promise.all([
    readJson(absolute, 'config.json', true),
    readJson(absolute, 'generation_config.json', false),
    readJson(absolute, 'tokenizer.json', true),
    readJson(absolute, 'tokenizer_config.json', false),
  ]);
  const onnxPath = join(absolute, 'onnx', 'model.onnx');
  try {
    if (!(await stat(onnxPath)).isFile())
      throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
  } catch (error) {
    if (isMissing(error))
      throw new ModelFormatError({ path: onnxPath, message: `missing. ${layoutHint}` });
    throw new ModelFormatError({
      path: onnxPath,
      message: `could not be read: ${(error as Error).message}`,
      cause: error,
    });
  }
  const embedsPath = join(absolute, 'onnx', 'model_embeds.onnx');
  const hasEmbeds = await stat(embedsPath).then(
    info => info.isFile(),
    () => false,
  );
  throwIfAborted(signal);
  return {
    ...(hasEmbeds
      ? { embedsOnnx: { path: embedsPath, read: async () => new Uint8Array(await readFile(embedsPath)) } }
      : {}),
    config: config as Record<string, unknown>,
    generationConfig,
    tokenizer: tokenizer as Record<string, unknown>,
    tokenizerConfig,
    onnx: { path: onnxPath, read: async () => new Uint8Array(await readFile(onnxPath)) },
  };
}
