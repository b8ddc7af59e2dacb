import { ModelFormatError } from '@decodekit/core';
import { InvalidArgumentError } from '@decodekit/core';
import {
  GRAPH_DTYPES,
  buildLlamaGraph,
  type GraphDtype,
  type LlamaGraphOptions,
} from './graph-builder.js';
import {
  type ModelFolderFiles,
  generationConfigJson,
  jsonText,
  llamaConfigJson,
} from './hf-config.js';
import { type KvHeadCompressionOptions, compressKvHeads } from './kv-head-compression.js';
import { type HyperAttentionOptions, hyperAttentionSettings } from './hyper-attention.js';
import { readLlama2cCheckpoint, readLlama2cTokenizer } from './llama2c.js';
import { type PruneSpec, parsePruneSpec, pruneWeights } from './prune.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson } from './tokenizer-json.js';

/** Input of {@link convertLlama2c}. */
export interface ConvertLlama2cInput {
  /** Bytes of a llama2.c legacy checkpoint (`stories260K.bin`). */
  readonly checkpoint: Uint8Array;
  /** Bytes of the matching llama2.c tokenizer (`tok512.bin`). */
  readonly tokenizer: Uint8Array;
  /** Emit only the standard Hugging Face I/O (no decodekit extensions). */
  readonly plain?: boolean;
  /** Recorded in config.json and the ONNX metadata. */
  readonly name?: string;
  /** Shown in error messages. */
  readonly checkpointPath?: string;
  readonly tokenizerPath?: string;
  /** Weight and I/O precision (default `fp32`; see {@link GraphDtype}). */
  readonly dtype?: GraphDtype;
  /**
   * How the decoder is split into files: `single` (`onnx/model.onnx`, default), `merged` (optimum's
   * `onnx/decoder_model_merged.onnx` with a `use_cache_branch` input) or `split` (`onnx/decoder_model.onnx` for
   * the prompt + `onnx/decoder_with_past_model.onnx`).
   */
  readonly layout?: GraphLayout;
  /** Take `position_ids` (default true); without it the graph counts positions from the cache (needs `plain`). */
  readonly positionIds?: boolean;
  /** Add a `num_logits_to_keep` input, as transformers.js exports have (default false). */
  readonly logitsToKeep?: boolean;
  /** How `q8` quantizes activations (default `per-row`; see {@link LlamaGraphOptions.q8Activations}). */
  readonly q8Activations?: LlamaGraphOptions['q8Activations'];
  /** `decomposed` (default) or `group-query` attention (see {@link LlamaGraphOptions.attention}). */
  readonly attention?: LlamaGraphOptions['attention'];
  /**
   * Compress the KV heads to this many shared heads with {@link compressKvHeads} (calibrated on the model's
   * own sampled text unless `kvCalibration` says otherwise). Default: keep the checkpoint's heads.
   */
  readonly kvHeads?: number;
  /** Calibration of the KV-head compression (see {@link KvHeadCompressionOptions.calibration}). */
  readonly kvCalibration?: KvHeadCompressionOptions['calibration'];
  /**
   * Prune the layer projections (`magnitude:0.5`, `2:4`, or a {@link PruneSpec}; see {@link pruneWeights}),
   * after any KV-head compression. Default: dense.
   */
  readonly prune?: PruneSpec | string;
  /**
   * HyperAttention for long prompts (see {@link LlamaGraphOptions.hyperAttention}): prefills longer than its
   * `minSeqLen` on an empty cache attend approximately; everything else is exact. Default: exact attention.
   */
  readonly hyperAttention?: HyperAttentionOptions;
}

/** How a converted decoder is laid out in files (see {@link ConvertLlama2cInput.layout}). */
export type GraphLayout = 'single' | 'merged' | 'split';

/** Every {@link GraphLayout}. */
export const GRAPH_LAYOUTS: readonly GraphLayout[] = ['single', 'merged', 'split'];

/** Output of {@link convertLlama2c}: the model folder's files by relative path. */
export interface ConvertedModel {
  readonly files: ModelFolderFiles;
}

/**
 * Converts a llama2.c checkpoint and tokenizer into a Hugging Face-style model folder (in memory):
 * `config.json`, `generation_config.json`, `tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`, and (without `plain`) `onnx/model_embeds.onnx`, the same graph
 * taking `inputs_embeds` in place of `input_ids` (docs/graph-io.md, "Build-time variant").
 * Browser-safe; {@link convertLlama2cToFolder} in `@decodekit/models/node` writes the files.
 *
 * @throws ModelFormatError when a file is malformed or the tokenizer does not fit the checkpoint
 */
export function convertLlama2c(input: ConvertLlama2cInput): ConvertedModel {
  const checkpointPath = input.checkpointPath ?? 'llama2.c checkpoint';
  const tokenizerPath = input.tokenizerPath ?? 'llama2.c tokenizer';
  const checkpoint = readLlama2cCheckpoint(input.checkpoint, checkpointPath);
  const tokenizer = readLlama2cTokenizer(input.tokenizer, tokenizerPath);
  if (tokenizer.tokens.length !== checkpoint.config.vocabSize) {
    throw new ModelFormatError({
      path: tokenizerPath,
      message:
        `the tokenizer has ${tokenizer.tokens.length} tokens but the checkpoint ${checkpointPath} has vocab_size ` +
        `${checkpoint.config.vocabSize}. Use the tokenizer the model was trained with.`,
    });
  }
  const compressed =
    input.kvHeads === undefined || input.kvHeads === checkpoint.config.numKvHeads
      ? undefined
      : compressKvHeads(checkpoint.config, checkpoint.weights, {
          kvHeads: input.kvHeads,
          calibration: input.kvCalibration,
        });
  const config = compressed?.config ?? checkpoint.config;
  const pruned =
    input.prune === undefined
      ? undefined
      : pruneWeights(
          config,
          compressed?.weights ?? checkpoint.weights,
          typeof input.prune === 'string' ? parsePruneSpec(input.prune) : input.prune,
        );
  const weights = pruned?.weights ?? compressed?.weights ?? checkpoint.weights;
  const plain = input.plain ?? false;
  const dtype = input.dtype ?? 'fp32';
  const layout = input.layout ?? 'single';
  if (!GRAPH_DTYPES.includes(dtype)) {
    throw new InvalidArgumentError({
      argument: 'dtype',
      message: `must be one of ${GRAPH_DTYPES.join(', ')}, got ${String(dtype)}.`,
    });
  }
  if (!GRAPH_LAYOUTS.includes(layout)) {
    throw new InvalidArgumentError({
      argument: 'layout',
      message: `must be one of ${GRAPH_LAYOUTS.join(', ')}, got ${String(layout)}.`,
    });
  }
  const graphOptions: LlamaGraphOptions = {
    plain,
    name: input.name,
    dtype,
    positionIds: input.positionIds ?? true,
    logitsToKeep: input.logitsToKeep ?? false,
    ...(dtype === 'q8' ? { q8Activations: input.q8Activations ?? 'per-row' } : {}),
    ...(input.attention === 'group-query' ? { attention: 'group-query' } : {}),
    ...(input.hyperAttention === undefined ? {} : { hyperAttention: input.hyperAttention }),
  };
  const variant =
    dtype !== 'fp32' ||
    layout !== 'single' ||
    graphOptions.positionIds === false ||
    graphOptions.logitsToKeep ||
    graphOptions.attention === 'group-query';
  const info = {
    graph: plain ? 'plain' : 'extended',
    source: 'llama2.c',
    name: input.name,
    ...(compressed ? { kvHeadCompression: compressed.report } : {}),
    ...(pruned ? { prune: pruned.report } : {}),
    ...(input.hyperAttention === undefined
      ? {}
      : { hyperAttention: hyperAttentionSettings(input.hyperAttention, config.numLayers) }),
    ...(variant
      ? {
          dtype,
          ...(dtype === 'q8' ? { q8Activations: graphOptions.q8Activations } : {}),
          layout,
          ...(graphOptions.positionIds ? {} : { positionIds: false }),
          ...(graphOptions.logitsToKeep ? { logitsToKeep: true } : {}),
          ...(graphOptions.attention === 'group-query' ? { attention: 'group-query' } : {}),
        }
      : {}),
  } as const;
  const graphs: Record<string, Uint8Array> =
    layout === 'merged'
      ? {
          'onnx/decoder_model_merged.onnx': buildLlamaGraph(config, weights, {
            ...graphOptions,
            useCacheBranch: true,
          }),
        }
      : layout === 'split'
        ? {
            'onnx/decoder_model.onnx': buildLlamaGraph(config, weights, {
              ...graphOptions,
              withoutPast: true,
            }),
            'onnx/decoder_with_past_model.onnx': buildLlamaGraph(config, weights, graphOptions),
          }
        : { 'onnx/model.onnx': buildLlamaGraph(config, weights, graphOptions) };
  // The inputs_embeds variant reads a float32 embedding table from the main graph; only the default layout has it.
  const withEmbeds = !plain && layout === 'single' && dtype !== 'fp16' && dtype !== 'q4f16';
  return {
    files: {
      'config.json': jsonText({
        ...llamaConfigJson(config, info),
        ...(dtype === 'fp16' || dtype === 'q4f16' ? { torch_dtype: 'float16' } : {}),
      }),
      'generation_config.json': jsonText(generationConfigJson()),
      'tokenizer.json': jsonText(llama2cTokenizerJson(tokenizer, tokenizerPath)),
      'tokenizer_config.json': jsonText(llama2cTokenizerConfig(config.contextLength)),
      ...graphs,
      // The inputs_embeds variant (same I/O otherwise, same KV layout) for backends' `forward({ embeddings })`.
      ...(withEmbeds
        ? {
            'onnx/model_embeds.onnx': buildLlamaGraph(config, weights, {
              ...graphOptions,
              inputsEmbeds: true,
            }),
          }
        : {}),
    },
  };
}
