import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelNotFoundError } from '@decodekit/core';
import { type ConvertLlama2cInput, convertLlama2c } from './convert-llama2c.js';
import { type WriteModelFolderOptions, writeModelFolder } from './write-model-folder.js';

/** Options of {@link convertLlama2cToFolder}. */
export interface ConvertLlama2cToFolderOptions extends WriteModelFolderOptions {
  /** Emit only the standard Hugging Face I/O (no decodekit extensions). */
  readonly plain?: boolean;
  /** Recorded in config.json and the ONNX metadata. */
  readonly name?: string;
  /** Weight and I/O precision (default `fp32`). */
  readonly dtype?: ConvertLlama2cInput['dtype'];
  /** `single` (default), `merged` or `split` decoder files. */
  readonly layout?: ConvertLlama2cInput['layout'];
  /** Take `position_ids` (default true). */
  readonly positionIds?: boolean;
  /** Add a `num_logits_to_keep` input (default false). */
  readonly logitsToKeep?: boolean;
  /** `decomposed` (default) or `group-query` attention. */
  readonly attention?: ConvertLlama2cInput['attention'];
  /** Compress the KV heads to this many (see {@link ConvertLlama2cInput.kvHeads}). */
  readonly kvHeads?: number;
  /** Calibration of the KV-head compression. */
  readonly kvCalibration?: ConvertLlama2cInput['kvCalibration'];
  /** Prune the layer projections (`magnitude:0.5`, `2:4`; see {@link ConvertLlama2cInput.prune}). */
  readonly prune?: ConvertLlama2cInput['prune'];
  /** HyperAttention for long prompts (see {@link ConvertLlama2cInput.hyperAttention}). */
  readonly hyperAttention?: ConvertLlama2cInput['hyperAttention'];
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new ModelNotFoundError({
      ref: path,
      searched: [path],
      hint: `Could not read the llama2.c ${what} (${(cause as Error).message}). Check the path.`,
    });
  }
}

/**
 * Converts a llama2.c checkpoint + tokenizer on disk into a model folder at `outDir`, written atomically
 * (temporary folder + rename). Node only.
 *
 * @returns the absolute path of the model folder
 * @throws ModelNotFoundError when an input cannot be read; ModelFormatError when it is malformed;
 *   InvalidArgumentError when `outDir` exists and `overwrite` is not set
 */
export async function convertLlama2cToFolder(
  checkpointPath: string,
  tokenizerPath: string,
  outDir: string,
  options: ConvertLlama2cToFolderOptions = {},
): Promise<string> {
  const [checkpoint, tokenizer] = await Promise.all([
    readInput(resolve(checkpointPath), 'checkpoint'),
    readInput(resolve(tokenizerPath), 'tokenizer'),
  ]);
  const { files } = convertLlama2c({
    checkpoint,
    tokenizer,
    plain: options.plain,
    name: options.name,
    dtype: options.dtype,
    layout: options.layout,
    positionIds: options.positionIds,
    logitsToKeep: options.logitsToKeep,
    attention: options.attention,
    kvHeads: options.kvHeads,
    kvCalibration: options.kvCalibration,
    prune: options.prune,
    hyperAttention: options.hyperAttention,
    checkpointPath,
    tokenizerPath,
  });
  return writeModelFolder(outDir, files, options);
}
