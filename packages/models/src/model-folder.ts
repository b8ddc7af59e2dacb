import { existsSync, statSync } from 'node:fs';
import { open, readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFormatError, ModelNotFoundError, type ModelFiles } from '@decodekit/core';
import { checkOnnxStructure } from './onnx-check.js';

/** Relative path of the ONNX graph inside a model folder. */
export const ONNX_PATH = 'onnx/model.onnx';

/** True when `dir` looks like a model folder (config.json and onnx/model.onnx). */
export function isModelFolder(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, ONNX_PATH));
}

/** The llama2.c inputs found in a folder: one checkpoint `*.bin` and one tokenizer (`tok*.bin` / `tokenizer.bin`). */
export interface Llama2cFolder {
  readonly checkpoint: string;
  readonly tokenizer: string;
}

/** Finds a llama2.c checkpoint and tokenizer in `dir`, or undefined when it holds none. */
export async function findLlama2cFiles(dir: string): Promise<Llama2cFolder | undefined> {
  const bins = (await readdir(dir)).filter(name => name.endsWith('.bin')).sort();
  const isTokenizer = (name: string) => /^tok.*\.bin$|^tokenizer\.bin$/.test(name);
  const tokenizers = bins.filter(isTokenizer);
  const checkpoints = bins.filter(name => !isTokenizer(name));
  if (tokenizers.length === 0 || checkpoints.length === 0) return undefined;
  if (tokenizers.length > 1 || checkpoints.length > 1) {
    throw new ModelFormatError({
      path: dir,
      message:
        `found several llama2.c files (${bins.join(', ')}); a folder must hold exactly one checkpoint *.bin and one ` +
        'tokenizer (tok*.bin or tokenizer.bin). Move the others away or pass the checkpoint folder of one model.',
    });
  }
  return { checkpoint: join(dir, checkpoints[0]), tokenizer: join(dir, tokenizers[0]) };
}

async function readJson(path: string, optional: false): Promise<Record<string, unknown>>;
async function readJson(path: string, optional: true): Promise<Record<string, unknown> | undefined>;
async function readJson(
  path: string,
  optional: boolean,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (optional && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelFormatError({
      path,
      message: `cannot read it (${(cause as Error).message}). A model folder needs this file.`,
      cause,
    });
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (cause) {
    throw new ModelFormatError({
      path,
      message: `is not valid JSON (${(cause as Error).message}).`,
      cause,
    });
  }
}

/** Number of ids a tokenizer.json defines (highest id + 1, added tokens included). */
export function tokenizerVocabSize(tokenizer: Readonly<Record<string, unknown>>): number {
  const model = (tokenizer.model ?? {}) as { vocab?: Record<string, number> | unknown[] };
  let max = -1;
  if (Array.isArray(model.vocab)) max = model.vocab.length - 1;
  else for (const id of Object.values(model.vocab ?? {})) max = Math.max(max, id as number);
  for (const token of (tokenizer.added_tokens ?? []) as Array<{ id: number }>)
    max = Math.max(max, token.id);
  return max + 1;
}

function checkVocab(
  folder: string,
  config: Record<string, unknown>,
  tokenizer: Record<string, unknown>,
): void {
  const vocabSize = config.vocab_size;
  if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize) || vocabSize <= 0) {
    throw new ModelFormatError({
      path: join(folder, 'config.json'),
      message: `vocab_size is ${JSON.stringify(vocabSize)}; expected a positive integer.`,
    });
  }
  const tokens = tokenizerVocabSize(tokenizer);
  if (tokens > vocabSize) {
    throw new ModelFormatError({
      path: folder,
      message:
        `tokenizer.json defines ${tokens} ids but config.json has vocab_size ${vocabSize}, so some ids have no logits. ` +
        'The tokenizer does not belong to this model; convert the model again or fix config.json.',
    });
  }
}

async function checkOnnxFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new ModelFormatError({
      path,
      message: `cannot read it (${(cause as Error).message}). A model folder needs the ONNX graph.`,
      cause,
    });
  }
  try {
    const { size } = await handle.stat();
    await checkOnnxStructure(
      async (offset, length) => {
        const buffer = new Uint8Array(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      },
      size,
      path,
    );
  } finally {
    await handle.close();
  }
}

function requireFolder(folder: string): string {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelNotFoundError({
      ref: folder,
      searched: [dir],
      hint: 'The folder does not exist; check the path.',
    });
  }
  return dir;
}

/**
 * Checks a model folder without loading its weights: config.json and tokenizer.json parse, their vocabulary
 * sizes agree, and onnx/model.onnx is a structurally sound ONNX file.
 *
 * @returns the absolute folder path
 * @throws ModelNotFoundError when the folder does not exist; ModelFormatError when a file is missing or broken
 */
export async function validateModelFolder(folder: string): Promise<string> {
  const dir = requireFolder(folder);
  const config = await readJson(join(dir, 'config.json'), false);
  const tokenizer = await readJson(join(dir, 'tokenizer.json'), false);
  checkVocab(dir, config, tokenizer);
  await checkOnnxFile(join(dir, ONNX_PATH));
  return dir;
}

/**
 * Reads a model folder into {@link ModelFiles} (what backends load), checking it like
 * {@link validateModelFolder}.
 *
 * @throws ModelNotFoundError when the folder does not exist; ModelFormatError when a file is missing or broken
 */
export async function readModelFiles(folder: string): Promise<ModelFiles> {
  const dir = requireFolder(folder);
  const [config, generationConfig, tokenizer, tokenizerConfig] = await Promise.all([
    readJson(join(dir, 'config.json'), false),
    readJson(join(dir, 'generation_config.json'), true),
    readJson(join(dir, 'tokenizer.json'), false),
    readJson(join(dir, 'tokenizer_config.json'), true),
  ]);
  checkVocab(dir, config, tokenizer);
  const onnxPath = join(dir, ONNX_PATH);
  let onnx: Uint8Array;
  try {
    onnx = new Uint8Array(await readFile(onnxPath));
  } catch (cause) {
    throw new ModelFormatError({
      path: onnxPath,
      message: `cannot read it (${(cause as Error).message}). A model folder needs the ONNX graph.`,
      cause,
    });
  }
  await checkOnnxStructure(
    (offset, length) => onnx.subarray(offset, offset + length),
    onnx.byteLength,
    onnxPath,
  );
  return { config, generationConfig, tokenizer, tokenizerConfig, onnx };
}
