/**
 * Per-token host overhead on stories260K (issue M): decodekit AR and the exact train-free strategies next to
 * transformers.js generate() and, when RUNC_BIN is set, llama2.c's run.c — same prompts (bench/stories.jsonl),
 * same tokens, greedy. Every engine runs on one prompt back to back before the next prompt, and the table
 * shows medians of the per-prompt ratios (a shared machine's load swings within seconds) and tokens per CPU
 * second summed over all runs (this process's CPU time per generation; run.c's from the children's CPU time
 * in /proc/self/stat, Linux only).
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/cli/scripts/overhead.measure.ts
 *
 * Environment (all optional):
 * - RUNC_BIN: a run.c binary built from karpathy/llama2.c outside the checkout (never committed), e.g.
 *   `gcc -O3 -march=native -o run run.c -lm`, then RUNC_BIN=$PWD/run. It runs on the mirror's stories260K.bin with
 *   tok512.bin, `-t 0 -n <prompt tokens + OVERHEAD_TOKENS> -i <prompt>`, and reports its own tok/s.
 * - OVERHEAD_PROMPTS (default 12): the first n prompts of bench/stories.jsonl.
 * - OVERHEAD_TOKENS (default 256): tokens generated per prompt (every engine stops at EOS/BOS too).
 * - OVERHEAD_ROUNDS (default 3): passes over the prompts; the table shows medians over all runs.
 * - OVERHEAD_STRATEGIES (default copyspec,prompt-lookup,token-recycling): CLI strategy specs.
 * - OVERHEAD_JSON: also write the raw numbers to this file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import {
  measureCostCurve,
  median,
  readPromptSet,
  runBench,
  transformersJsBaseline,
  type BenchStrategy,
} from '@decodekit/bench';
import { defaultMirrors, resolveModel } from '@decodekit/models/node';
import { expect, it } from 'vitest';
import { buildStrategy } from '../src/strategies.js';

/* eslint-disable no-process-env -- measure script configuration */
const env = process.env;
const promptCount = Number(env.OVERHEAD_PROMPTS ?? 12);
const maxTokens = Number(env.OVERHEAD_TOKENS ?? 256);
const rounds = Number(env.OVERHEAD_ROUNDS ?? 3);
const strategySpecs = (env.OVERHEAD_STRATEGIES ?? 'copyspec,prompt-lookup,token-recycling')
  .split(',')
  .filter(Boolean);
const runcBin = env.RUNC_BIN;
/* eslint-enable no-process-env */

const MODEL = 'karpathy/tinyllamas/stories260K';
const storiesFile = fileURLToPath(new URL('../../../bench/stories.jsonl', import.meta.url));

/**
 * CPU seconds of this process's waited-for children (Linux /proc/self/stat cutime + cstime, 100 ticks/s), or
 * undefined elsewhere. Coarse (10 ms), so run.c's CPU time is only reported summed over all its runs.
 */
function childrenCpuSeconds(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  // Fields after the parenthesized command name; cutime and cstime are fields 16 and 17 of the whole line.
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** CPU seconds (user + system) of this process so far. */
function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** One run.c generation: its own `achieved tok/s` (positions after the first over wall time). */
function runC(bin: string, folder: string, prompt: string, steps: number): number {
  const result = spawnSync(
    bin,
    [
      join(folder, 'stories260K.bin'),
      '-z',
      join(folder, 'tok512.bin'),
      '-t',
      '0',
      '-n',
      String(steps),
      '-i',
      prompt,
    ],
    { encoding: 'utf8' },
  );
  const match = /achieved tok\/s: ([\d.]+)/.exec(result.stderr);
  if (result.status !== 0 || match === null)
    throw new Error(`run.c failed (${result.status}): ${result.stderr}`);
  return Number(match[1]);
}

it('stories260K: decodekit AR and exact strategies vs transformers.js and run.c', async () => {
  const model = await loadModel(MODEL);
  const prompts = (await readPromptSet(storiesFile)).slice(0, promptCount);
  const strategies: BenchStrategy[] = [];
  for (const spec of strategySpecs) {
    // One instance for the whole run, as `decodekit bench` does (learning drafters keep learning).
    const strategy = await buildStrategy(spec, { model, backend: 'cpu' });
    strategies.push({ name: spec, lossless: strategy.lossless, create: () => strategy });
  }
  const costCurve = await measureCostCurve(model);
  const plainFolder = await resolveModel(MODEL, { plain: true });
  const plain = await loadModel(plainFolder);
  // run.c reads the llama2.c files from the offline mirror (DECODEKIT_MODELS).
  const runcFolder = defaultMirrors()
    .map(mirror => join(mirror, MODEL))
    .find(folder => existsSync(join(folder, 'stories260K.bin')));
  if (runcBin !== undefined && runcFolder === undefined)
    throw new Error(
      `RUNC_BIN is set but no mirror in DECODEKIT_MODELS holds ${MODEL}/stories260K.bin`,
    );

  // Every engine runs on one prompt back to back before the next prompt, so each ratio below compares runs
  // that saw the same machine state (the dev box is shared and its load swings within seconds).
  const tokensPerS: Record<string, number[]> = {};
  const ratios: Record<string, number[]> = {};
  const record = (engine: string, value: number, reference: number) => {
    (tokensPerS[engine] ??= []).push(value);
    (ratios[engine] ??= []).push(value / reference);
  };
  const efficiency: Record<string, number[]> = {};
  // Tokens and CPU seconds summed per engine: on a loaded machine, tokens per CPU second tracks the
  // per-token work far better than wall time (which mostly measures how often the scheduler ran us).
  const cpu: Record<string, { tokens: number; seconds: number }> = {};
  const addCpu = (engine: string, tokens: number, seconds: number) => {
    const entry = (cpu[engine] ??= { tokens: 0, seconds: 0 });
    entry.tokens += tokens;
    entry.seconds += seconds;
  };
  let mismatches = 0;
  let transformersMismatches = 0;
  for (let round = 0; round < rounds; round++) {
    for (const [index, entry] of prompts.entries()) {
      const first = round === 0 && index === 0;
      // CPU time between two progress reports belongs to the generation the first one announced.
      const cpuByStrategy: Record<string, number> = {};
      let running: { strategy: string; since: number } | undefined;
      const settle = () => {
        if (running !== undefined)
          cpuByStrategy[running.strategy] = ownCpuSeconds() - running.since;
      };
      const bench = await runBench({
        model,
        strategies,
        prompts: [entry],
        maxTokens,
        costCurve,
        warmup: first,
        onProgress: progress => {
          settle();
          running =
            progress.phase === 'run'
              ? { strategy: progress.strategy, since: ownCpuSeconds() }
              : undefined;
        },
      });
      settle();
      const ar = bench.runs.find(run => run.strategy === 'ar')?.tokens_per_s ?? Number.NaN;
      const arTokens = bench.runs.find(run => run.strategy === 'ar')?.tokens ?? 0;
      for (const run of bench.runs) {
        const engine = run.strategy === 'ar' ? 'decodekit AR' : run.strategy;
        record(engine, run.tokens_per_s, ar);
        addCpu(engine, run.tokens, cpuByStrategy[run.strategy] ?? Number.NaN);
      }
      for (const row of bench.summary) {
        mismatches += row.mismatches ?? 0;
        if (row.efficiency !== null && row.efficiency !== undefined)
          (efficiency[row.strategy] ??= []).push(row.efficiency);
      }
      const ids = plain.tokenizer.encode(entry.prompt as string);
      // decodekit AR on the plain graph runs interleaved with transformers.js on the same graph and ids.
      const baseline = await transformersJsBaseline({
        folder: plainFolder,
        promptIds: ids,
        maxTokens,
        repeats: 1,
        warmup: first,
        compareWith: plain,
      });
      const plainAr = baseline.ours_tokens_per_s_median ?? Number.NaN;
      record('transformers.js generate()', baseline.tokens_per_s_median, ar);
      record('decodekit AR, plain graph (next to transformers.js)', plainAr, ar);
      (ratios['decodekit AR plain / transformers.js, same graph'] ??= []).push(
        plainAr / baseline.tokens_per_s_median,
      );
      if (baseline.ids_match === false) transformersMismatches++;
      if (runcBin !== undefined && runcFolder !== undefined) {
        const before = childrenCpuSeconds();
        record(
          'llama2.c run.c',
          runC(runcBin, runcFolder, entry.prompt as string, ids.length + maxTokens),
          ar,
        );
        const after = childrenCpuSeconds();
        // run.c forwards every prompt position one at a time and stops at BOS like decodekit's EOS, so
        // it runs as many forwards as decodekit's AR made tokens plus the prompt.
        if (before !== undefined && after !== undefined)
          addCpu('llama2.c run.c', ids.length + arTokens, after - before);
      }
    }
  }
  const medianOf = (values: readonly number[] | undefined) =>
    values === undefined ? Number.NaN : median([...values]);
  const runc = ratios['llama2.c run.c'];
  console.log(
    `\nstories260K, ${prompts.length} prompts of bench/stories.jsonl, ${maxTokens} tokens, ${rounds} rounds, greedy. ` +
      'Medians over prompts × rounds; ratios are per prompt, between runs made back to back.',
  );
  const cpuRate = (engine: string) =>
    cpu[engine] === undefined ? Number.NaN : cpu[engine].tokens / cpu[engine].seconds;
  const runcCpu = cpuRate('llama2.c run.c');
  console.log(
    '| engine | tok/s (wall) | × decodekit AR | × run.c | tok per CPU-s | × run.c (CPU) | efficiency |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [engine, values] of Object.entries(tokensPerS)) {
    const name = engine === 'decodekit AR' ? 'ar' : engine;
    const versusRunc =
      runc === undefined
        ? '-'
        : medianOf(ratios[engine].map((ratio, i) => ratio / runc[i])).toFixed(2);
    console.log(
      `| ${engine} | ${medianOf(values).toFixed(0)} | ${medianOf(ratios[engine]).toFixed(2)} | ${versusRunc} | ` +
        `${Number.isNaN(cpuRate(engine)) ? '-' : cpuRate(engine).toFixed(0)} | ` +
        `${Number.isNaN(cpuRate(engine) / runcCpu) ? '-' : (cpuRate(engine) / runcCpu).toFixed(2)} | ` +
        `${efficiency[name] === undefined ? '-' : medianOf(efficiency[name]).toFixed(2)} |`,
    );
  }
  console.log(
    `decodekit AR / transformers.js generate() on the same plain graph: ${medianOf(ratios['decodekit AR plain / transformers.js, same graph']).toFixed(2)}× ` +
      `(extended graph: ${medianOf(ratios['transformers.js generate()'].map(ratio => 1 / ratio)).toFixed(2)}×)`,
  );
  console.log(
    `mismatches vs AR: ${mismatches}; transformers.js ids differing from decodekit's: ${transformersMismatches}`,
  );
  // eslint-disable-next-line no-process-env -- measure script configuration
  const jsonPath = process.env.OVERHEAD_JSON;
  if (jsonPath)
    writeFileSync(jsonPath, JSON.stringify({ tokensPerS, ratios, efficiency, cpu }, null, 2));
  await plain.dispose();
  await model.dispose();
  expect(mismatches).toBe(0);
});
