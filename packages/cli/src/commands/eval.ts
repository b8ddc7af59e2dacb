import { resolve } from 'node:path';
import { evaluate, formatEvalTable, writeEvalReports, type EvalStrategy } from '@decodekit/eval';
import { readPromptSet } from '@decodekit/bench';
import type { LoadedModel } from '@decodekit/core';
import type { Command } from 'commander';
import { DEFAULT_MODEL, loadForCli } from '../load.js';
import { buildSetup, decoderFor } from '../strategies.js';
import { collect, number } from './option-parsers.js';

/** `decodekit eval`: quality and diversity metrics of strategies on a prompt set. */
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'Report perplexity, distinct-n, self-BLEU and repetition rate of strategies on a prompt set.',
    )
    .option('--model <ref>', 'model that generates and scores', DEFAULT_MODEL)
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .option(
      '--strategies <list>',
      'comma-separated strategy specs (options separated by ;)',
      'greedy,beam-search,momentum-decoding',
    )
    .option('--prompts <file>', 'JSONL prompt set (repeatable)', collect, [])
    .option('--max-tokens <n>', 'tokens per continuation', number('--max-tokens'), 64)
    .option('--limit <n>', 'use the first N prompts', number('--limit'))
    .option('--draft-model <ref>', 'second model (contrastive decoding’s amateur)')
    .option('--out <dir>', 'report folder', '.bench/eval')
    .action(async options => {
      const files: string[] =
        options.prompts.length > 0 ? options.prompts : ['bench/stories.jsonl'];
      let prompts = (await Promise.all(files.map(file => readPromptSet(resolve(file))))).flat();
      if (options.limit !== undefined) prompts = prompts.slice(0, options.limit);
      const model = await loadForCli(options.model, options.backend);
      const loaded: LoadedModel[] = [];
      try {
        const strategies: EvalStrategy[] = [];
        for (const spec of String(options.strategies)
          .split(',')
          .map(s => s.trim())
          .filter(Boolean)) {
          const setup = await buildSetup(spec.replaceAll(';', ','), {
            model,
            draftModel: options.draftModel,
            backend: options.backend,
            loaded,
          });
          const decoder = decoderFor(setup, model);
          strategies.push({
            name: spec,
            async generate(prompt, { maxTokens, signal }) {
              const result = await decoder.generate(prompt, { maxTokens, temperature: 0, signal });
              return {
                text: result.text,
                tokens: result.tokens,
                promptTokens: result.promptTokens,
              };
            },
          });
        }
        const result = await evaluate({
          strategies,
          prompts: prompts.map(entry => ({ id: entry.id, prompt: String(entry.prompt) })),
          scoringModel: model,
          maxTokens: options.maxTokens,
          onProgress: ({ strategy, done, total }) => {
            if (done % 10 === 0 || done === total)
              process.stderr.write(`${strategy} ${done}/${total}\n`);
          },
        });
        const written = await writeEvalReports(result, options.out);
        process.stdout.write(`${formatEvalTable(result)}\n`);
        process.stdout.write(`wrote ${Object.values(written).join(', ')}\n`);
      } finally {
        for (const extra of loaded) await extra.dispose();
        await model.dispose();
      }
    });
}
