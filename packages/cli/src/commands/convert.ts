import { convertLlama2cToFolder } from '@decodekit/models/node';
import type { Command } from 'commander';

export function registerConvert(program: Command): void {
  program
    .command('convert <checkpoint>')
    .description('Convert a llama2.c checkpoint and its tokenizer into a model folder (ONNX + tokenizer.json).')
    .requiredOption('--tokenizer <file>', 'llama2.c tokenizer (tok512.bin style)')
    .requiredOption('--out <dir>', 'output model folder')
    .option('--plain', 'emit only the standard Hugging Face I/O (no decodekit extensions)', false)
    .action(async (checkpoint: string, options: { tokenizer: string; out: string; plain: boolean }) => {
      await convertLlama2cToFolder(checkpoint, options.tokenizer, options.out, { plain: options.plain });
      process.stderr.write(`wrote ${options.out}${options.plain ? ' (plain export)' : ''}\n`);
    });
}
