import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import {
  GRAPH_DTYPES,
  GRAPH_LAYOUTS,
  type GraphDtype,
  type GraphLayout,
  type HyperAttentionOptions,
  parseHyperAttentionSpec,
  parsePruneSpec,
} from '@decodekit/models';
import {
  convertLlama2cToFolder,
  addTreeAttentionToFolder,
  convertLlama2cToTwin,
  defaultMirrors,
  findKnownModel,
  findLlama2cFiles,
} from '@decodekit/models/node';
import type { Command } from 'commander';
import { number } from './option-parsers.js';

interface ConvertOptions {
  tokenizer?: string;
  out: string;
  plain: boolean;
  twin?: string;
  seed: number;
  overwrite: boolean;
  dtype: GraphDtype;
  layout: GraphLayout;
  positionIds: boolean;
  logitsToKeep: boolean;
  attention: 'decomposed' | 'group-query';
  treeAttention: boolean;
  kvHeads?: number;
  kvCalibration?: { sequences: number; length: number };
  prune?: string;
  hyperAttention?: HyperAttentionOptions;
}

/** Parses `--kv-calibration SxL`: S sampled sequences of L tokens. */
function calibrationSize(raw: string): { sequences: number; length: number } {
  const match = /^(\d+)x(\d+)$/.exec(raw.trim());
  const sequences = Number(match?.[1]);
  const length = Number(match?.[2]);
  if (!match || sequences < 1 || length < 2) {
    throw new InvalidArgumentError({
      argument: '--kv-calibration',
      message: `expected SEQUENCESxTOKENS with at least 1 sequence of 2 tokens (e.g. 8x256), got "${raw}".`,
    });
  }
  return { sequences, length };
}

function oneOf<TValue extends string>(argument: string, allowed: readonly TValue[]) {
  return (raw: string): TValue => {
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new InvalidArgumentError({
        argument,
        message: `use one of ${allowed.join(', ')}, got "${raw}".`,
      });
    }
    return raw as TValue;
  };
}

/**
 * The checkpoint and tokenizer of `ref`: a checkpoint file (its tokenizer from `--tokenizer` or its
 * folder), a folder holding both, or a known model id found in a mirror (DECODEKIT_MODELS).
 */
export async function llama2cInputs(
  ref: string,
  tokenizer: string | undefined,
): Promise<{ checkpoint: string; tokenizer: string; name?: string }> {
  const known = findKnownModel(ref);
  const folders = existsSync(ref)
    ? [statSync(ref).isDirectory() ? ref : dirname(ref)]
    : known
      ? defaultMirrors().map(mirror => join(mirror, known.mirrorPath))
      : [];
  const isFile = existsSync(ref) && !statSync(ref).isDirectory();
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    const found = isFile && tokenizer ? undefined : await findLlama2cFiles(folder);
    const checkpoint = isFile ? ref : found?.checkpoint;
    const tokenizerPath = tokenizer ?? found?.tokenizer;
    if (checkpoint && tokenizerPath) {
      // A known model's twin is named after its id's last part (stories260K, llama2xs).
      return {
        checkpoint,
        tokenizer: tokenizerPath,
        name: known ? basename(known.ref) : undefined,
      };
    }
  }
  throw new InvalidArgumentError({
    argument: 'checkpoint',
    message:
      `found no llama2.c checkpoint and tokenizer for "${ref}"` +
      (folders.length > 0 ? ` (looked in ${folders.join(', ')})` : '') +
      '. Pass a checkpoint .bin with --tokenizer, a folder holding both, or a known model id with DECODEKIT_MODELS set.',
  });
}

/** `convert --tree-attention FOLDER --out DIR`: the graph rewrite of @decodekit/models. */
async function treeAttention(folder: string, options: ConvertOptions): Promise<void> {
  const conflicting = [
    options.twin !== undefined ? '--twin' : undefined,
    options.tokenizer !== undefined ? '--tokenizer' : undefined,
    options.plain ? '--plain' : undefined,
    options.dtype !== 'fp32' ? '--dtype' : undefined,
    options.layout !== 'single' ? '--layout' : undefined,
    options.positionIds ? undefined : '--no-position-ids',
    options.logitsToKeep ? '--logits-to-keep' : undefined,
    options.attention !== 'decomposed' ? '--attention' : undefined,
    options.kvHeads !== undefined ? '--kv-heads' : undefined,
    options.kvCalibration !== undefined ? '--kv-calibration' : undefined,
    options.prune !== undefined ? '--prune' : undefined,
    options.hyperAttention !== undefined ? '--hyper-attention' : undefined,
  ].filter(Boolean);
  if (conflicting.length > 0) {
    throw new InvalidArgumentError({
      argument: '--tree-attention',
      message: `rewrites an existing model folder as it is; drop ${conflicting.join(', ')}.`,
    });
  }
  const { folder: written, graphs } = await addTreeAttentionToFolder(folder, options.out, {
    overwrite: options.overwrite,
  });
  const summary = Object.entries(graphs).map(([graph, report]) => {
    const parts = [
      report.multiHeadAttention > 0 ? `${report.multiHeadAttention} MultiHeadAttention` : '',
      report.groupQueryAttention > 0 ? `${report.groupQueryAttention} GroupQueryAttention` : '',
      report.softmaxMasks > 0 ? `${report.softmaxMasks} Softmax masks` : '',
    ].filter(Boolean);
    return `${graph} (${parts.join(', ')})`;
  });
  process.stderr.write(`wrote ${written} with attention_bias: ${summary.join('; ')}\n`);
}

export function registerConvert(program: Command): void {
  program
    .command('convert <checkpoint>')
    .description(
      'Convert a llama2.c checkpoint (file, folder or known id) and its tokenizer into a model folder (ONNX + tokenizer.json); ' +
        'with --twin, a cost twin: the same function at the cost of a bigger model; ' +
        'with --tree-attention, copy an ONNX model folder with an attention_bias input added to its graphs.',
    )
    .option(
      '--tokenizer <file>',
      'llama2.c tokenizer (tok512.bin style); default: the one beside the checkpoint',
    )
    .requiredOption('--out <dir>', 'output model folder')
    .option('--plain', 'emit only the standard Hugging Face I/O (no decodekit extensions)', false)
    .option(
      '--twin <size>',
      'cost twin of this many parameters: 25M, 100M, 400M, ... (MLP widened with zero down-projections)',
    )
    .option('--seed <n>', 'seed of a twin’s added random weights', number('--seed'), 0)
    .option('--overwrite', 'replace an existing output folder', false)
    .option(
      '--dtype <dtype>',
      `weights and I/O: ${GRAPH_DTYPES.join(' | ')}`,
      oneOf('--dtype', GRAPH_DTYPES),
      'fp32',
    )
    .option(
      '--layout <layout>',
      'single (onnx/model.onnx) | merged (decoder_model_merged.onnx, use_cache_branch) | split (decoder_model + decoder_with_past_model)',
      oneOf('--layout', GRAPH_LAYOUTS),
      'single',
    )
    .option(
      '--no-position-ids',
      'no position_ids input: positions count from the cache (needs --plain)',
    )
    .option(
      '--logits-to-keep',
      'add a num_logits_to_keep input, as transformers.js exports have',
      false,
    )
    .option(
      '--attention <kind>',
      'decomposed | group-query (com.microsoft GroupQueryAttention, as onnxruntime-genai writes; needs --plain)',
      oneOf('--attention', ['decomposed', 'group-query'] as const),
      'decomposed',
    )
    .option(
      '--tree-attention',
      'the argument is an ONNX model folder (transformers.js / optimum / onnxruntime-genai export): write it to --out with an attention_bias input, so draft trees are verified in one forward',
      false,
    )
    .option(
      '--kv-heads <n>',
      'compress the KV heads to N shared heads (SVD of calibration K/V folded into Q/O; RoPE-commuting keys)',
      number('--kv-heads'),
    )
    .option(
      '--kv-calibration <SxL>',
      'with --kv-heads: calibrate on S sequences of L tokens sampled from the model (default 8x256, seed 0)',
      calibrationSize,
    )
    .option(
      '--prune <spec>',
      'prune the layer projections: magnitude:S (unstructured, share S of smallest |w| per matrix) | N:M (e.g. 2:4)',
      (raw: string) => (parsePruneSpec(raw), raw),
    )
    .option(
      '--hyper-attention <spec>',
      'HyperAttention for long prompts: on (minSeqLen 4096, blocks of 256, 256 sampled columns, 7 hyperplanes) or key=value pairs, e.g. min=1024,block=128,sample=128,projections=7,seed=0,layers=6+7',
      parseHyperAttentionSpec,
    )
    .action(async (ref: string, options: ConvertOptions) => {
      if (options.treeAttention) {
        await treeAttention(ref, options);
        return;
      }
      if (!options.positionIds && !options.plain) {
        throw new InvalidArgumentError({
          argument: '--no-position-ids',
          message: 'a graph without position_ids cannot take tree attention; add --plain.',
        });
      }
      if (
        options.attention === 'group-query' &&
        (!options.plain || options.dtype === 'fp16' || options.dtype === 'q4f16')
      ) {
        throw new InvalidArgumentError({
          argument: '--attention',
          message:
            'group-query attention is built for plain graphs with float32 I/O; add --plain and use --dtype fp32, q8 or q4.',
        });
      }
      const variantChosen =
        options.dtype !== 'fp32' ||
        options.layout !== 'single' ||
        !options.positionIds ||
        options.logitsToKeep ||
        options.attention !== 'decomposed' ||
        options.kvHeads !== undefined ||
        options.kvCalibration !== undefined ||
        options.prune !== undefined ||
        options.hyperAttention !== undefined;
      if (options.twin !== undefined && variantChosen) {
        throw new InvalidArgumentError({
          argument: '--twin',
          message:
            'cost twins are written as fp32 single-graph folders; drop --dtype/--layout/--no-position-ids/--logits-to-keep/--attention/--kv-heads/--prune/--hyper-attention.',
        });
      }
      const inputs = await llama2cInputs(ref, options.tokenizer);
      if (options.twin === undefined) {
        await convertLlama2cToFolder(inputs.checkpoint, inputs.tokenizer, options.out, {
          plain: options.plain,
          overwrite: options.overwrite,
          dtype: options.dtype,
          layout: options.layout,
          positionIds: options.positionIds,
          logitsToKeep: options.logitsToKeep,
          attention: options.attention,
          kvHeads: options.kvHeads,
          kvCalibration: options.kvCalibration,
          prune: options.prune,
          hyperAttention: options.hyperAttention,
        });
        const variant = [
          options.plain ? 'plain' : undefined,
          options.dtype === 'fp32' ? undefined : options.dtype,
          options.layout === 'single' ? undefined : options.layout,
          options.positionIds ? undefined : 'no position_ids',
          options.logitsToKeep ? 'num_logits_to_keep' : undefined,
          options.attention === 'group-query' ? 'GroupQueryAttention' : undefined,
          options.kvHeads === undefined ? undefined : `${options.kvHeads} KV heads`,
          options.prune === undefined ? undefined : `pruned ${options.prune}`,
          options.hyperAttention === undefined ? undefined : 'HyperAttention',
        ].filter(Boolean);
        process.stderr.write(
          `wrote ${options.out}${variant.length > 0 ? ` (${variant.join(', ')})` : ''}\n`,
        );
        return;
      }
      const started = Date.now();
      const { folder, twin, dataBytes } = await convertLlama2cToTwin(
        inputs.checkpoint,
        inputs.tokenizer,
        options.out,
        {
          size: options.twin,
          seed: options.seed,
          plain: options.plain,
          name: inputs.name,
          overwrite: options.overwrite,
        },
      );
      process.stderr.write(
        `wrote ${folder}: twin (${twin.label}), ${(twin.parameters / 1e6).toFixed(1)}M parameters, ` +
          `${(dataBytes / 2 ** 20).toFixed(0)} MiB of weights, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
}
