import { resolve } from 'node:path';
import { InvalidArgumentError, type LoadedModel } from '@decodekit/core';
import {
  measureCostCurve,
  measureRandomLlamaCostCurve,
  readPromptSet,
  runBench,
  transformersJsBaseline,
  writeReports,
  type BenchPrompt,
  type BenchStrategy,
} from '@decodekit/bench';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { resolveModel } from '@decodekit/models/node';
import type { Command } from 'commander';
import { DEFAULT_MODEL, DTYPE_HELP, loadForCli } from '../load.js';
import { buildStrategy, type StrategyEnvironment } from '../strategies.js';
import { collect, number } from './option-parsers.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Run AR and each strategy side by side; check identity at T = 0; write bench.json, bench.md, bench.svg.')
    .option('--model <ref>', 'target model', DEFAULT_MODEL)
    .option('--dtype <dtype>', DTYPE_HELP)
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .option('--prompts <file>', 'JSONL prompt set with id, prompt, max_tokens (repeatable)', collect, [])
    .option('--strategies <list>', 'comma-separated strategy specs (NAME[:k=v;...] uses ; between options here)', 'ar,prompt-lookup,token-recycling')
    .option('--max-tokens <n>', 'override every prompt’s max_tokens', number('--max-tokens'))
    .option('--temperature <t>', '0 = greedy (identity is checked only at 0)', number('--temperature'), 0)
    .option('--seed <s>', 'base seed', number('--seed'), 0)
    .option('--repeats <n>', 'passes over the prompt set', number('--repeats'), 1)
    .option('--draft-model <ref>', 'draft model for the draft-model strategy')
    .option('--out <dir>', 'report folder', '.bench/latest')
    .option('--no-cost-curve', 'skip the cost-vs-k measurements')
    .option('--no-transformers', 'skip the transformers.js comparison')
    .option('--random-model', 'also measure the cost curve of a seeded random ~25M-parameter model', true)
    .action(async options => {
      const files: string[] = options.prompts.length > 0 ? options.prompts : ['bench/stories.jsonl'];
      const prompts: BenchPrompt[] = (await Promise.all(files.map(file => readPromptSet(resolve(file))))).flat();
      if (prompts.length === 0) throw new InvalidArgumentError({ argument: '--prompts', message: 'the prompt files hold no prompts.' });
      const model = await loadForCli(options.model, options.backend, { dtype: options.dtype });
      const loaded: LoadedModel[] = [];
      const environment: StrategyEnvironment = { model, draftModel: options.draftModel, backend: options.backend, loaded };
      try {
        const strategies: BenchStrategy[] = [];
        for (const spec of String(options.strategies).split(',').map(s => s.trim()).filter(Boolean)) {
          if (spec === 'ar' || spec === 'autoregressive') continue; // AR always runs as the baseline
          // One instance per strategy for the whole run: drafters that learn (Token Recycling) keep learning,
          // as they do for a user whose decoder serves many requests.
          const strategy = await buildStrategy(spec.replaceAll(';', ','), environment);
          strategies.push({ name: spec, lossless: strategy.lossless, create: () => strategy });
        }
        const started = Date.now();
        const result = await runBench({
          model,
          strategies,
          prompts,
          maxTokens: options.maxTokens,
          temperature: options.temperature,
          seed: options.seed,
          repeats: options.repeats,
          onProgress: progress => {
            const line = `${progress.phase} ${progress.completed + 1}/${progress.total} ${progress.strategy} ${progress.prompt_id}`;
            if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(72)}`);
            else if (progress.completed % 25 === 0) process.stderr.write(`${line}\n`);
          },
        });
        process.stderr.write(`\rbenchmarked ${prompts.length} prompts × ${strategies.length + 1} strategies in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        if (options.costCurve) {
          process.stderr.write('measuring the cost of one forward with k rows...\n');
          result.cost_curve = { [model.info.name]: await measureCostCurve(model) };
          if (options.randomModel) {
            const random = await measureRandomLlamaCostCurve({});
            result.cost_curve[random.model] = random.curve;
          }
        }
        if (options.transformers) {
          process.stderr.write('running transformers.js generate() on the --plain export...\n');
          try {
            const folder = await resolveModel(options.model, { plain: true, dtype: options.dtype });
            const ours = await createCpuBackend().load(folder);
            try {
              const first = prompts[0];
              result.transformers_js = await transformersJsBaseline({
                folder,
                prompt: typeof first.prompt === 'string' ? first.prompt : undefined,
                maxTokens: options.maxTokens ?? first.max_tokens ?? 128,
                compareWith: ours,
              });
            } finally {
              await ours.dispose();
            }
          } catch (error) {
            process.stderr.write(`transformers.js comparison skipped: ${(error as Error).message}\n`);
          }
        }
        const written = await writeReports(result, options.out);
        for (const row of result.summary) {
          process.stdout.write(
            `${row.strategy.padEnd(28)} speedup ${row.speedup_median?.toFixed(2) ?? '-'}×  τ ${row.tau_mean?.toFixed(2) ?? '-'}  ` +
              `${row.tokens_per_s_median?.toFixed(0) ?? '-'} tok/s  mismatches ${row.mismatches}\n`,
          );
        }
        process.stdout.write(`wrote ${written.json}, ${written.markdown}, ${written.svg}\n`);
        const mismatches = result.summary.reduce((sum, row) => sum + (row.mismatches ?? 0), 0);
        if (mismatches > 0) {
          process.stderr.write(`${mismatches} lossless run(s) differ from AR at T = 0\n`);
          process.exitCode = 1;
        }
      } finally {
        for (const extra of loaded) await extra.dispose();
        await model.dispose();
      }
    });
}
