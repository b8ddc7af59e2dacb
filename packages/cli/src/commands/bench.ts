import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { invariant, InvalidArgumentError, type LoadedModel } from '@decodekit/core';
import {
  measureCostCurve,
  type CostPoint,
  type ThreadsChoice,
  measureRandomLlamaCostCurve,
  readPromptSet,
  runBench,
  transformersJsBaseline,
  writeReports,
  type BenchPrompt,
  type BenchStrategy,
} from '@decodekit/bench';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { readCostTwinInfo, resolveModel } from '@decodekit/models/node';
import type { Command } from 'commander';
import { DEFAULT_MODEL, DTYPE_HELP, loadForCli } from '../load.js';
import {
  strategyHelp,
  buildStrategy,
  withFixedDraftSizing,
  type StrategyEnvironment,
} from '../strategies.js';
import { collect, number } from './option-parsers.js';

/** The threads sweep scores a setting by the summed median ms of one forward at these k. */
const SWEEP_KS = [1, 2, 4, 8, 16];
const SWEEP_CRITERION = `sum of median ms of one forward at k = ${SWEEP_KS.join(', ')}`;

function parseThreads(text: string): number[] {
  const values = [...new Set(text.split(',').map(part => Number(part.trim())))];
  if (
    values.length === 0 ||
    values.some(value => !Number.isInteger(value) || value < 1 || value > 256)
  ) {
    throw new InvalidArgumentError({
      argument: '--threads',
      message: `expected a comma-separated list of thread counts such as 1,2; got "${text}".`,
    });
  }
  return values;
}

/** The twin label of a loaded model folder (`stories260K function, 100M-parameter cost`), if it is a twin. */
function twinLabelOf(model: LoadedModel): string | undefined {
  const path = join(model.source, 'config.json');
  if (!existsSync(path)) return undefined;
  return readCostTwinInfo(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>)?.label;
}

/**
 * Loads `ref` once per thread count, times one forward at k = 1..16 with each, keeps the fastest (by
 * SWEEP_CRITERION) and disposes the others. The full cost curve of the chosen setting is measured when
 * `fullCurve`.
 */
async function sweepThreads(
  ref: string,
  threads: readonly number[],
  fullCurve: boolean,
): Promise<{ model: LoadedModel; choice: ThreadsChoice; curve?: CostPoint[] }> {
  const sweep: { threads: number; score_ms: number; cost_curve: CostPoint[] }[] = [];
  let best: { model: LoadedModel; threads: number; score: number } | undefined;
  for (const count of threads) {
    const model = await loadForCli(ref, 'cpu', { intraOpNumThreads: count });
    const curve = await measureCostCurve(model, { ks: SWEEP_KS, repeats: 10 });
    const score = curve.reduce((sum, point) => sum + point.ms_median, 0);
    sweep.push({ threads: count, score_ms: score, cost_curve: curve });
    process.stderr.write(
      `threads sweep ${model.info.name}: ${count} thread(s) ${score.toFixed(2)} ms\n`,
    );
    if (!best || score < best.score) {
      if (best) await best.model.dispose();
      best = { model, threads: count, score };
    } else {
      await model.dispose();
    }
  }
  const chosen = best;
  invariant(chosen !== undefined, 'at least one thread count was measured');
  return {
    model: chosen.model,
    choice: { chosen: chosen.threads, criterion: SWEEP_CRITERION, sweep },
    curve: fullCurve ? await measureCostCurve(chosen.model) : undefined,
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'Run AR and each strategy side by side; check identity at T = 0; write bench.json, bench.md, bench.svg.',
    )
    .addHelpText('after', strategyHelp)
    .option('--model <ref>', 'target model', DEFAULT_MODEL)
    .option('--dtype <dtype>', DTYPE_HELP)
    .option('--backend <name>', 'cpu | wasm | webgpu | cuda[:N]', 'cpu')
    .option(
      '--prompts <file>',
      'JSONL prompt set with id, prompt, max_tokens (repeatable)',
      collect,
      [],
    )
    .option('--limit <n>', 'use only the first n prompts of each prompt file', number('--limit'))
    .option(
      '--strategies <list>',
      'comma-separated strategy specs (NAME[:k=v;...] uses ; between options here)',
      'ar,prompt-lookup,token-recycling',
    )
    .option('--max-tokens <n>', 'override every prompt’s max_tokens', number('--max-tokens'))
    .option(
      '--temperature <t>',
      '0 = greedy (identity is checked only at 0)',
      number('--temperature'),
      0,
    )
    .option('--seed <s>', 'base seed', number('--seed'), 0)
    .option('--repeats <n>', 'passes over the prompt set', number('--repeats'), 1)
    .option('--draft-model <ref>', 'draft model for the draft-model strategy')
    .option('--out <dir>', 'report folder', '.bench/latest')
    .option('--no-cost-curve', 'skip the cost-vs-k measurements')
    .option('--no-transformers', 'skip the transformers.js comparison')
    .option(
      '--plain-model <ref>',
      'plain export of the same model for transformers.js (e.g. `decodekit convert --twin 100M --plain`); default: --model’s plain export',
    )
    .option(
      '--random-model',
      'also measure the cost curve of a seeded random ~25M-parameter model',
      true,
    )
    .option('--no-random-model', 'skip the seeded random model’s cost curve')
    .option(
      '--no-adaptive',
      'every drafter verifies its configured draft (adaptive=false, unless its spec says otherwise): τ then measures the drafter, not this machine’s timing',
    )
    .option(
      '--threads <list>',
      'ONNX Runtime intra-op threads to sweep on the CPU backend (target and draft model); the fastest per model is used and recorded',
      '1,2',
    )
    .action(async options => {
      const files: string[] =
        options.prompts.length > 0 ? options.prompts : ['bench/stories.jsonl'];
      if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
        throw new InvalidArgumentError({
          argument: '--limit',
          message: `must be a positive integer, got ${options.limit}.`,
        });
      }
      const prompts: BenchPrompt[] = (
        await Promise.all(
          files.map(async file => (await readPromptSet(resolve(file))).slice(0, options.limit)),
        )
      ).flat();
      if (prompts.length === 0)
        throw new InvalidArgumentError({
          argument: '--prompts',
          message: 'the prompt files hold no prompts.',
        });
      const threads = parseThreads(String(options.threads));
      const sweeping = options.backend === 'cpu' && threads.length > 1;
      let model: LoadedModel;
      let costCurve: CostPoint[] | undefined;
      const threadChoices: Record<string, ThreadsChoice> = {};
      let draftThreads: number | undefined = options.backend === 'cpu' ? threads[0] : undefined;
      if (sweeping) {
        const swept = await sweepThreads(options.model, threads, options.costCurve);
        model = swept.model;
        costCurve = swept.curve;
        threadChoices[model.info.name] = swept.choice;
        if (options.draftModel) {
          const draft = await sweepThreads(options.draftModel, threads, false);
          threadChoices[draft.model.info.name] = draft.choice;
          draftThreads = draft.choice.chosen;
          await draft.model.dispose();
        }
      } else {
        model = await loadForCli(options.model, options.backend, {
          dtype: options.dtype,
          intraOpNumThreads: options.backend === 'cpu' ? threads[0] : undefined,
        });
        if (options.costCurve) {
          process.stderr.write('measuring the cost of one forward with k rows...\n');
          costCurve = await measureCostCurve(model);
        }
      }
      const modelLabel = twinLabelOf(model);
      if (modelLabel) process.stderr.write(`${model.info.name} is a cost twin: ${modelLabel}\n`);
      const loaded: LoadedModel[] = [];
      const environment: StrategyEnvironment = {
        model,
        draftModel: options.draftModel,
        backend: options.backend,
        draftThreads,
        loaded,
      };
      try {
        const strategies: BenchStrategy[] = [];
        for (const spec of String(options.strategies)
          .split(',')
          .map(s => s.trim())
          .filter(Boolean)) {
          if (spec === 'ar' || spec === 'autoregressive') continue; // AR always runs as the baseline
          // One instance per strategy for the whole run: drafters that learn (Token Recycling) keep learning,
          // as they do for a user whose decoder serves many requests.
          const name = options.adaptive === false ? withFixedDraftSizing(spec, ';') : spec;
          const strategy = await buildStrategy(name.replaceAll(';', ','), environment);
          strategies.push({ name, lossless: strategy.lossless, create: () => strategy });
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
          costCurve,
          modelLabel,
          onProgress: progress => {
            const line = `${progress.phase} ${progress.completed + 1}/${progress.total} ${progress.strategy} ${progress.prompt_id}`;
            if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(72)}`);
            else if (progress.completed % 25 === 0) process.stderr.write(`${line}\n`);
          },
        });
        process.stderr.write(
          `\rbenchmarked ${prompts.length} prompts × ${strategies.length + 1} strategies in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
        if (Object.keys(threadChoices).length > 0) result.threads = threadChoices;
        if (costCurve) {
          result.cost_curve = { [model.info.name]: costCurve };
          if (options.randomModel) {
            const random = await measureRandomLlamaCostCurve({});
            result.cost_curve[random.model] = random.curve;
          }
        }
        if (options.transformers) {
          process.stderr.write('running transformers.js generate() on the --plain export...\n');
          try {
            const folder = await resolveModel(options.plainModel ?? options.model, {
              plain: true,
              dtype: options.dtype,
            });
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
            process.stderr.write(
              `transformers.js comparison skipped: ${(error as Error).message}\n`,
            );
          }
        }
        const written = await writeReports(result, options.out);
        for (const row of result.summary) {
          process.stdout.write(
            `${row.strategy.padEnd(28)} speedup ${row.speedup_median?.toFixed(2) ?? '-'}×  τ ${row.tau_mean?.toFixed(2) ?? '-'}  ` +
              `ceiling ${row.ceiling?.toFixed(2) ?? '-'}×  efficiency ${row.efficiency?.toFixed(2) ?? '-'}  ` +
              `CPU speedup ${row.cpu_speedup_median?.toFixed(2) ?? '-'}×  ` +
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
