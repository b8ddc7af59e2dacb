import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildAdedStore, serializeAdedStore } from '@decodekit/strategy-aded';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { collect } from './option-parsers.js';

/** `decodekit aded build`: count tri-grams of a corpus with the target's tokenizer into an ADED store file. */
export function registerAded(program: Command): void {
  const command = program.command('aded').description('ADED tri-gram stores.');
  command
    .command('build')
    .description(
      'Build an ADED store from text files (one document per blank-line-separated block).',
    )
    .requiredOption('--corpus <file>', 'text file (repeatable)', collect, [])
    .requiredOption('--out <file>', 'store file to write')
    .option('--model <ref>', 'model whose tokenizer counts the tri-grams', DEFAULT_MODEL)
    .action(async (options: { corpus: string[]; out: string; model: string }) => {
      const model = await loadForCli(options.model, 'cpu');
      try {
        const corpus = options.corpus.flatMap(file =>
          readFileSync(file, 'utf8')
            .split(/\n\s*\n/)
            .filter(block => block.trim()),
        );
        const store = buildAdedStore({ corpus, tokenizer: model.tokenizer });
        const bytes = serializeAdedStore(store);
        mkdirSync(dirname(options.out), { recursive: true });
        writeFileSync(options.out, bytes);
        process.stdout.write(
          `wrote ${options.out}: ${corpus.length} documents, ${bytes.length} bytes\n`,
        );
      } finally {
        await model.dispose();
      }
    });
}
