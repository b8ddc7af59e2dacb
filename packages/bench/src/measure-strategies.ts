import { basename } from 'node:path';
import {
  InvalidArgumentError,
  type CausalLM,
  type Strategy,
  type Tokenizer,
} from '@decodekit/core';
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

/** What a measure script's command line asks for (see {@link measureArgs}). */
export interface MeasureArgs<Name extends string = string> {
  /** The configurations to run: those named on the command line, else every one. */
  readonly names: readonly Name[];
  /** Interleaved passes over each prompt set (`--repeats N`). */
  readonly repeats: number;
  /**
   * One instance per named configuration, made once for the whole run, as a decoder keeps its strategy:
   * drafter state and the engine's cost calibration carry over between generations.
   */
  readonly strategies: Readonly<Record<string, Strategy>>;
}

/**
 * Reads a strategy package's measure-script command line, `[names...] [--repeats N]`, against the script's
 * configurations (name → factory). No names: every configuration. Factories run only for the names picked.
 * @throws InvalidArgumentError for an unknown name (the message lists the known ones) or a `--repeats` that is
 * not a positive integer.
 */
export function measureArgs<Name extends string>(
  argv: readonly string[],
  configurations: Readonly<Record<Name, () => Strategy>>,
  { repeats: defaultRepeats = 2 }: { readonly repeats?: number } = {},
): MeasureArgs<Name> {
  const args = [...argv];
  let repeats = defaultRepeats;
  const at = args.indexOf('--repeats');
  if (at >= 0) {
    const [, value] = args.splice(at, 2);
    repeats = Number(value);
    if (!Number.isInteger(repeats) || repeats < 1)
      throw new InvalidArgumentError({
        argument: '--repeats',
        message: `must be a positive integer, got ${JSON.stringify(value)}.`,
      });
  }
  const known = Object.keys(configurations) as Name[];
  for (const name of args)
    if (!known.includes(name as Name))
      throw new InvalidArgumentError({
        argument: 'names',
        message: `no configuration "${name}" in this script; known: ${known.map(n => JSON.stringify(n)).join(', ')}.`,
      });
  const names = args.length > 0 ? (args as Name[]) : known;
  const strategies = Object.fromEntries(names.map(name => [name, configurations[name]()]));
  return { names, repeats, strategies };
}
