import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { readPromptSet } from '@decodekit/bench';
import { fitHeadForPair } from '@decodekit/strategy-specdec-pp';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { collect, number } from './option-parsers.js';

/** Fits a SpecDec++ acceptance head (kept here as an export for existing callers; it lives in the package). */
export { fitHeadForPair };

/** `decodekit specdec-pp fit`: the acceptance head of SpecDec++ for a draft/target pair. */
export function registerSpecdecPP(program: Command): void {
  const command = program.command('specdec-pp').description('SpecDec++ acceptance heads.');
  command
    .command('fit')
    .description(
      'Fit a logistic acceptance head on the pair’s own generations; report its calibration on held-out prompts.',
    )
    .requiredOption('--draft-model <ref>', 'draft model (e.g. llama2xs)')
    .option('--model <ref>', 'target model', DEFAULT_MODEL)
    .option('--prompts <file>', 'JSONL prompt set (repeatable)', collect, [])
    .option('--holdout <n>', 'last N prompts are held out for calibration', number('--holdout'), 10)
    .option(
      '--temperature <t>',
      '0: labels are greedy matches; > 0: min(1, p/q)',
      number('--temperature'),
      0,
    )
    .option(
      '--rejection-weight <w>',
      'weight of rejected samples in the loss (the paper uses > 1)',
      number('--rejection-weight'),
      6,
    )
    .requiredOption('--out <file>', 'head JSON to write')
    .action(async options => {
      const files: string[] =
        options.prompts.length > 0 ? options.prompts : ['bench/stories.jsonl'];
      const prompts = (await Promise.all(files.map(file => readPromptSet(resolve(file)))))
        .flat()
        .map(entry => String(entry.prompt));
      const target = await loadForCli(options.model, 'cpu');
      const draft = await loadForCli(options.draftModel, 'cpu');
      try {
        const fit = await fitHeadForPair({
          target,
          draft,
          prompts,
          holdout: options.holdout,
          temperature: options.temperature,
          rejectionWeight: options.rejectionWeight,
        });
        mkdirSync(dirname(resolve(options.out)), { recursive: true });
        writeFileSync(options.out, `${JSON.stringify(fit.head.toJSON(), null, 2)}\n`);
        const { auc, brier, baselineBrier, ece } = fit.calibration;
        process.stdout.write(
          `wrote ${options.out}: ${fit.trainSamples} training samples, ${fit.heldOutSamples} held out; ` +
            `AUC ${auc.toFixed(3)}, Brier ${brier.toFixed(3)} (base rate ${baselineBrier.toFixed(3)}), ECE ${ece.toFixed(3)}\n`,
        );
      } finally {
        await draft.dispose();
        await target.dispose();
      }
    });
}
