import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ModelFormatError, ModelNotFoundError } from '@decodekit/core';
import {
  type CostTwinInfo,
  costTwinLabel,
  parseTwinSize,
  planCostTwin,
  twinMlpLayer,
} from './cost-twin.js';
import { buildLlamaGraph } from './graph-builder.js';
import { generationConfigJson, jsonText, llamaConfigJson } from './hf-config.js';
import { readLlama2cCheckpoint, readLlama2cTokenizer } from './llama2c.js';
import type { ExternalData } from './onnx-writer.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson } from './tokenizer-json.js';
import { type WriteModelFolderOptions, writeModelFolder } from './write-model-folder.js';

/** Options of {@link convertLlama2cToTwin}. */
export interface ConvertLlama2cTwinOptions extends WriteModelFolderOptions {
  /** Parameters of the twin: `25M`, `100M`, `400M`, or a count. */
  readonly size: string | number;
  /** Seed of the added units' random gate/up weights (default 0). */
  readonly seed?: number;
  /** Emit only the standard Hugging Face I/O (no decodekit extensions; no `model_embeds.onnx`). */
  readonly plain?: boolean;
  /** Name of the original in the twin's label; default: the checkpoint's file name (its folder's for `model.bin`). */
  readonly name?: string;
}

/** Result of {@link convertLlama2cToTwin}. */
export interface ConvertedTwin {
  /** Absolute path of the model folder. */
  readonly folder: string;
  readonly twin: CostTwinInfo;
  /** Bytes of `onnx/model.onnx_data`. */
  readonly dataBytes: number;
}

/** Name of the external data file next to the twin's graphs (shared by model.onnx and model_embeds.onnx). */
export const TWIN_DATA_FILE = 'model.onnx_data';

/** External tensors start on page boundaries, so ONNX Runtime can memory-map them. */
const ALIGNMENT = 4096;

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

function defaultName(checkpointPath: string): string {
  const stem = basename(checkpointPath, extname(checkpointPath));
  return stem === 'model' ? basename(dirname(resolve(checkpointPath))) : stem;
}

/** Appends float chunks to a file descriptor, keeping the byte offset. */
class DataFileWriter {
  offset = 0;
  private readonly padding = new Uint8Array(ALIGNMENT);
  constructor(private readonly fd: number) {}

  tensor(chunks: Iterable<Float32Array>): { offset: number; length: number } {
    const misalignment = this.offset % ALIGNMENT;
    if (misalignment !== 0) this.write(this.padding.subarray(0, ALIGNMENT - misalignment));
    const start = this.offset;
    for (const chunk of chunks)
      this.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return { offset: start, length: this.offset - start };
  }

  private write(bytes: Uint8Array): void {
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(this.fd, bytes, written);
    this.offset += bytes.byteLength;
  }
}

/**
 * Converts a llama2.c checkpoint into a cost twin's model folder at `outDir` (see `planCostTwin`): the
 * original's function at the cost of a model of `size` parameters. The widened MLP weights are streamed,
 * one row at a time, into `onnx/model.onnx_data` (ONNX external data, shared by both graphs), so memory
 * stays near one layer's row buffer whatever the size; `config.json` records the twin under
 * `decodekit.twin` for reports. Written atomically, like {@link writeModelFolder}. Node only.
 *
 * @throws ModelNotFoundError when an input cannot be read; ModelFormatError when it is malformed;
 *   InvalidArgumentError for a bad size or an existing `outDir` without `overwrite`
 */
export async function convertLlama2cToTwin(
  checkpointPath: string,
  tokenizerPath: string,
  outDir: string,
  options: ConvertLlama2cTwinOptions,
): Promise<ConvertedTwin> {
  const targetText = String(options.size).trim().toUpperCase();
  const target = parseTwinSize(targetText);
  const seed = options.seed ?? 0;
  const plain = options.plain ?? false;
  const [checkpointBytes, tokenizerBytes] = await Promise.all([
    readInput(resolve(checkpointPath), 'checkpoint'),
    readInput(resolve(tokenizerPath), 'tokenizer'),
  ]);
  const original = readLlama2cCheckpoint(checkpointBytes, checkpointPath);
  const tokenizer = readLlama2cTokenizer(tokenizerBytes, tokenizerPath);
  if (tokenizer.tokens.length !== original.config.vocabSize) {
    throw new ModelFormatError({
      path: tokenizerPath,
      message:
        `the tokenizer has ${tokenizer.tokens.length} tokens but the checkpoint ${checkpointPath} has vocab_size ` +
        `${original.config.vocabSize}. Use the tokenizer the model was trained with.`,
    });
  }
  const plan = planCostTwin(original.config, target);
  const of = options.name ?? defaultName(checkpointPath);
  const twin: CostTwinInfo = {
    of,
    target: targetText,
    parameters: plan.parameters,
    original_parameters: plan.originalParameters,
    original_intermediate_size: original.config.hiddenDim,
    seed,
    label: costTwinLabel(of, targetText),
  };
  const name = `${of}-twin-${targetText}`;
  const { dim } = plan.config;
  const twinHidden = plan.config.hiddenDim;
  let dataBytes = 0;

  const folder = await writeModelFolder(
    outDir,
    async temporaryDir => {
      mkdirSync(join(temporaryDir, 'onnx'), { recursive: true });
      const fd = openSync(join(temporaryDir, 'onnx', TWIN_DATA_FILE), 'w');
      const layers: { w13: ExternalData; w2: ExternalData }[] = [];
      try {
        const writer = new DataFileWriter(fd);
        for (let layer = 0; layer < plan.config.numLayers; layer++) {
          const mlp = twinMlpLayer(original, twinHidden, layer, seed);
          layers.push({
            w13: { location: TWIN_DATA_FILE, ...writer.tensor(mlp.w13()) },
            w2: { location: TWIN_DATA_FILE, ...writer.tensor(mlp.w2()) },
          });
        }
        dataBytes = writer.offset;
      } finally {
        closeSync(fd);
      }
      const graph = (inputsEmbeds: boolean) =>
        buildLlamaGraph(plan.config, original.weights, {
          plain,
          inputsEmbeds,
          name,
          mlpWeights: (g, layer) => {
            g.externalFloat(`layers.${layer}.w13`, [dim, 2 * twinHidden], layers[layer].w13);
            g.externalFloat(`layers.${layer}.w2`, [twinHidden, dim], layers[layer].w2);
          },
        });
      return {
        'config.json': jsonText(
          llamaConfigJson(plan.config, {
            graph: plain ? 'plain' : 'extended',
            source: 'llama2.c',
            name,
            twin,
          }),
        ),
        'generation_config.json': jsonText(generationConfigJson()),
        'tokenizer.json': jsonText(llama2cTokenizerJson(tokenizer, tokenizerPath)),
        'tokenizer_config.json': jsonText(llama2cTokenizerConfig(plan.config.contextLength)),
        'onnx/model.onnx': graph(false),
        ...(plain ? {} : { 'onnx/model_embeds.onnx': graph(true) }),
      };
    },
    options,
  );
  return { folder, twin, dataBytes };
}
