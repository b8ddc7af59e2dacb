import { basename } from 'node:path';
import type { CausalLM, Strategy, Tokenizer } from '@decodekit/core';
import { readPromptSet } from './prompt-set.js';
import { runBench, type BenchResult } from './run-bench.js';

/** Options of {@link measureStrategies}. */
export interface MeasureStrategiesOptions {
  readonly model: CausalLM & { readonly tokenizer?: Tokenizer };
  /** One instance per name, kept for the whole run (drafter state carries over, as in a decoder). */
  readonly strategies: Readonly<Record<string, Strategy>>;
  /** JSONL prompt files (bench/*.jsonl). */
  readonly promptFiles: readonly string[];
  /** Default [0, 0.8]. */
  readonly temperatures?: readonly number[];
  /** Default 2 (interleaved passes over each prompt set). */
  readonly repeats?: number;
  /** Where the table goes. Default console.log. */
  readonly log?: (line: string) => void;
}

/**
 * The measurement every strategy package's `scripts/measure.ts` runs: for each prompt file and temperature,
 * AR and the strategies side by side through {@link runBench}, printed as one table per case.
 */
export async function measureStrategies({
  model,
  strategies,
  promptFiles,
  temperatures = [0, 0.8],
  repeats = 2,
  log = console.log,
}: MeasureStrategiesOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const file of promptFiles) {
    const prompts = await readPromptSet(file);
    for (const temperature of temperatures) {
      const result = await runBench({
        model,
        strategies: Object.entries(strategies).map(([name, strategy]) => ({
          name,
          lossless: strategy.lossless,
          create: () => strategy,
        })),
        prompts,
        temperature,
        repeats,
      });
      results.push(result);
      log(`\n${basename(file)} T=${temperature}`);
      for (const row of result.summary) {
        log(
          `${row.strategy.padEnd(28)} ${row.tokens_per_s_median.toFixed(0).padStart(6)} tok/s  ` +
            `${row.speedup_median.toFixed(2)}x  tau ${row.tau_mean.toFixed(2)}  mismatches ${row.mismatches}`,
        );
      }
    }
  }
  return results;
}
