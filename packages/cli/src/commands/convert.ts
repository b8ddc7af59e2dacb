import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import {
  convertLlama2cToFolder,
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
}

/**
 * The checkpoint and tokenizer of `ref`: a checkpoint file (its tokenizer from `--tokenizer` or its
 * folder), a folder holding both, or a known model id found in a mirror (DECODEKIT_MODELS).
 */
async function llama2cInputs(
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
      return { checkpoint, tokenizer: tokenizerPath, name: known ? basename(known.ref) : undefined };
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

export function registerConvert(program: Command): void {
  program
    .command('convert <checkpoint>')
    .description(
      'Convert a llama2.c checkpoint (file, folder or known id) and its tokenizer into a model folder (ONNX + tokenizer.json); ' +
        'with --twin, a cost twin: the same function at the cost of a bigger model.',
    )
    .option('--tokenizer <file>', 'llama2.c tokenizer (tok512.bin style); default: the one beside the checkpoint')
    .requiredOption('--out <dir>', 'output model folder')
    .option('--plain', 'emit only the standard Hugging Face I/O (no decodekit extensions)', false)
    .option('--twin <size>', 'cost twin of this many parameters: 25M, 100M, 400M, ... (MLP widened with zero down-projections)')
    .option('--seed <n>', 'seed of a twin’s added random weights', number('--seed'), 0)
    .option('--overwrite', 'replace an existing output folder', false)
    .action(async (ref: string, options: ConvertOptions) => {
      const inputs = await llama2cInputs(ref, options.tokenizer);
      if (options.twin === undefined) {
        await convertLlama2cToFolder(inputs.checkpoint, inputs.tokenizer, options.out, {
          plain: options.plain,
          overwrite: options.overwrite,
        });
        process.stderr.write(`wrote ${options.out}${options.plain ? ' (plain export)' : ''}\n`);
        return;
      }
      const started = Date.now();
      const { folder, twin, dataBytes } = await convertLlama2cToTwin(inputs.checkpoint, inputs.tokenizer, options.out, {
        size: options.twin,
        seed: options.seed,
        plain: options.plain,
        name: inputs.name,
        overwrite: options.overwrite,
      });
      process.stderr.write(
        `wrote ${folder}: twin (${twin.label}), ${(twin.parameters / 1e6).toFixed(1)}M parameters, ` +
          `${(dataBytes / 2 ** 20).toFixed(0)} MiB of weights, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
}
