import { InvalidArgumentError } from '@decodekit/core';
import { GRAPH_DTYPES, GRAPH_LAYOUTS, type GraphDtype, type GraphLayout } from '@decodekit/models';
import { convertLlama2cToFolder } from '@decodekit/models/node';
import type { Command } from 'commander';

function oneOf<TValue extends string>(argument: string, allowed: readonly TValue[]) {
  return (raw: string): TValue => {
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new InvalidArgumentError({ argument, message: `use one of ${allowed.join(', ')}, got "${raw}".` });
    }
    return raw as TValue;
  };
}

export function registerConvert(program: Command): void {
  program
    .command('convert <checkpoint>')
    .description('Convert a llama2.c checkpoint and its tokenizer into a model folder (ONNX + tokenizer.json).')
    .requiredOption('--tokenizer <file>', 'llama2.c tokenizer (tok512.bin style)')
    .requiredOption('--out <dir>', 'output model folder')
    .option('--plain', 'emit only the standard Hugging Face I/O (no decodekit extensions)', false)
    .option('--dtype <dtype>', `weights and I/O: ${GRAPH_DTYPES.join(' | ')}`, oneOf('--dtype', GRAPH_DTYPES), 'fp32')
    .option(
      '--layout <layout>',
      'single (onnx/model.onnx) | merged (decoder_model_merged.onnx, use_cache_branch) | split (decoder_model + decoder_with_past_model)',
      oneOf('--layout', GRAPH_LAYOUTS),
      'single',
    )
    .option('--no-position-ids', 'no position_ids input: positions count from the cache (needs --plain)')
    .option('--logits-to-keep', 'add a num_logits_to_keep input, as transformers.js exports have', false)
    .option(
      '--attention <kind>',
      'decomposed | group-query (com.microsoft GroupQueryAttention, as onnxruntime-genai writes; needs --plain)',
      oneOf('--attention', ['decomposed', 'group-query'] as const),
      'decomposed',
    )
    .action(
      async (
        checkpoint: string,
        options: {
          tokenizer: string;
          out: string;
          plain: boolean;
          dtype: GraphDtype;
          layout: GraphLayout;
          positionIds: boolean;
          logitsToKeep: boolean;
          attention: 'decomposed' | 'group-query';
        },
      ) => {
        if (!options.positionIds && !options.plain) {
          throw new InvalidArgumentError({
            argument: '--no-position-ids',
            message: 'a graph without position_ids cannot take tree attention; add --plain.',
          });
        }
        if (options.attention === 'group-query' && (!options.plain || options.dtype === 'fp16' || options.dtype === 'q4f16')) {
          throw new InvalidArgumentError({
            argument: '--attention',
            message: 'group-query attention is built for plain graphs with float32 I/O; add --plain and use --dtype fp32, q8 or q4.',
          });
        }
        await convertLlama2cToFolder(checkpoint, options.tokenizer, options.out, {
          plain: options.plain,
          dtype: options.dtype,
          layout: options.layout,
          positionIds: options.positionIds,
          logitsToKeep: options.logitsToKeep,
          attention: options.attention,
        });
        const variant = [
          options.plain ? 'plain' : undefined,
          options.dtype === 'fp32' ? undefined : options.dtype,
          options.layout === 'single' ? undefined : options.layout,
          options.positionIds ? undefined : 'no position_ids',
          options.logitsToKeep ? 'num_logits_to_keep' : undefined,
          options.attention === 'group-query' ? 'GroupQueryAttention' : undefined,
        ].filter(Boolean);
        process.stderr.write(`wrote ${options.out}${variant.length > 0 ? ` (${variant.join(', ')})` : ''}\n`);
      },
    );
}
