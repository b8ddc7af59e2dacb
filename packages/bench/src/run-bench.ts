import { cpus } from 'node:os';
import {
  InvalidArgumentError,
  InvariantError,
  createDecoder,
  wrapModel,
  type CausalLM,
  type DecodeStats,
  type Prompt,
  type Strategy,
  type Tokenizer,
} from '@decodekit/core';
import { speedupCeiling, type CostPoint } from './cost-curve.js';
import { mean, median, round } from './statistics.js';
import type { TransformersJsBaselineResult } from './transformers-baseline.js';

/** Name of the autoregressive baseline in runs and summaries. */
export const AR = 'ar';

/** A strategy to benchmark. */
export interface BenchStrategy {
  /** Name in the report (unique; `ar` is reserved for the baseline). */
  readonly name: string;
  /** True when the strategy must be token-identical to AR at temperature 0 (counted in `mismatches`). */
  readonly lossless: boolean;
  /** Makes a fresh strategy; called once per generation so no drafter state leaks between runs. */
  readonly create: () => Strategy;
}

/** One prompt of a prompt set (the JSON Lines format of `bench/*.jsonl`). */
export interface BenchPrompt {
  readonly id: string;
  /** Text (needs a model with a tokenizer), `{ tokens }` or `{ messages }`. */
  readonly prompt: Prompt;
  /** Tokens to generate for this prompt unless `maxTokens` overrides it. */
  readonly max_tokens?: number;
}

/** Reported through `onProgress` before each generation. */
export interface BenchProgress {
  readonly phase: 'warmup' | 'run';
  readonly strategy: string;
  readonly prompt_id: string;
  /** Repeat index (0-based); 0 during warm-up. */
  readonly repeat: number;
  /** Generations finished so far in this phase. */
  readonly completed: number;
  /** Generations in this phase. */
  readonly total: number;
}

/** Options of {@link runBench}. */
export interface RunBenchOptions {
  /** The target model: a LoadedModel, or any CausalLM when every prompt is `{ tokens }`. */
  readonly model: CausalLM & { readonly tokenizer?: Tokenizer };
  /** Strategies compared against AR (the decoder with no strategy), which always runs first. */
  readonly strategies: readonly BenchStrategy[];
  readonly prompts: readonly BenchPrompt[];
  /** Overrides every prompt's `max_tokens`. Default: the prompt's `max_tokens`, else 128. */
  readonly maxTokens?: number;
  /** 0 (default) decodes greedily, which makes lossless strategies comparable token for token. */
  readonly temperature?: number;
  /** Base seed; repeat r uses `seed + r` for every strategy. Default 0. */
  readonly seed?: number;
  /** Passes over the prompt set. Default 1. */
  readonly repeats?: number;
  /** One untimed generation per strategy (AR included) on the first prompt before timing. Default true. */
  readonly warmup?: boolean;
  /** Keep generating past EOS so every run emits its full `max_tokens` (default false). */
  readonly ignoreEos?: boolean;
  readonly onProgress?: (progress: BenchProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * The model's measured cost curve (`measureCostCurve`). With it every run and summary gets its ceiling
   * (τ over the mean relative cost of the forwards it ran) and its efficiency (speedup / ceiling).
   */
  readonly costCurve?: readonly CostPoint[];
  /**
   * How reports name the model when it is a cost twin (`stories260K function, 100M-parameter cost`), from
   * the folder's config.json (`readCostTwinInfo` in @decodekit/models).
   */
  readonly modelLabel?: string;
}

/** One timed generation. Times are milliseconds, from the decoder's DecodeStats. */
export interface BenchRun {
  readonly strategy: string;
  readonly prompt_id: string;
  readonly repeat: number;
  /** Generated tokens. */
  readonly tokens: number;
  /** Target forwards, prefill included. */
  readonly forward_passes: number;
  /** Mean tokens emitted per decode-time target forward (`stats.meanAcceptedTokens`). */
  readonly tau: number;
  readonly tokens_per_s: number;
  readonly decode_ms: number;
  readonly prefill_ms: number;
  /**
   * AR decode ms / this run's decode ms on the same prompt and repeat, per generated token (equal to the
   * plain ratio whenever both emit the same number of tokens, e.g. lossless runs at T = 0).
   */
  readonly speedup_vs_ar: number;
  /**
   * CPU time (user + system) of this process during the whole generation, prefill included, in ms. On a
   * shared machine it follows the work a strategy does far more closely than wall time, which mostly
   * measures how often the scheduler ran the process.
   */
  readonly cpu_ms: number;
  /**
   * AR CPU ms / this run's CPU ms on the same prompt and repeat, per generated token: the speedup in CPU
   * time. Equals `speedup_vs_ar` on an idle machine with one intra-op thread; more threads count once each.
   */
  readonly cpu_speedup_vs_ar: number;
  /** Same ids as AR at T = 0; null when T > 0. */
  readonly identical_to_ar: boolean | null;
  readonly draft_ms: number | null;
  /** Verification forwards plus the tree walk (speculative strategies). */
  readonly verify_ms: number | null;
  readonly acceptance_rate: number | null;
  readonly reason: string;
  /** Decode-time target forwards (prefill excluded) by number of rows verified: `{ "1": 63 }` for AR. */
  readonly forward_rows: Readonly<Record<string, number>>;
  /**
   * The speedup this run could reach if drafting and bookkeeping were free: τ / mean relative cost of its
   * forwards on the cost curve. Null without a cost curve.
   */
  readonly ceiling: number | null;
}

/** Per-strategy aggregates over every prompt and repeat. */
export interface BenchSummary {
  readonly strategy: string;
  readonly lossless: boolean;
  readonly runs: number;
  readonly speedup_median: number;
  /** Median of the runs' `cpu_speedup_vs_ar`. */
  readonly cpu_speedup_median: number;
  readonly tau_mean: number;
  readonly tokens_per_s_median: number;
  readonly acceptance_rate_mean: number | null;
  /** Lossless runs whose ids differ from AR's at T = 0 (always 0 when T > 0 or the strategy is lossy). */
  readonly mismatches: number;
  /** Process RSS sampled during this strategy's runs, max, in MiB (process-wide, so an upper bound). */
  readonly peak_rss_mb: number;
  /**
   * Share of decode time outside verification forwards: Σ(decode − verify) / Σ decode, i.e. drafting and
   * engine bookkeeping. Null for strategies that report no verify time (AR).
   */
  readonly draft_fraction: number | null;
  /** Mean rows per decode-time target forward (1 for AR). */
  readonly rows_mean: number;
  /** Median of the runs' ceilings (see {@link BenchRun.ceiling}); null without a cost curve. */
  readonly ceiling: number | null;
  /** `speedup_median / ceiling`: how much of the hardware's ceiling the engine reaches; null without one. */
  readonly efficiency: number | null;
  /** `cpu_speedup_median / ceiling`: the efficiency in CPU time (steadier on a shared machine). */
  readonly cpu_efficiency: number | null;
}

/** Where and how a benchmark ran. */
export interface BenchMeta {
  readonly model: string;
  /** Set for cost twins: `stories260K function, 100M-parameter cost`. */
  readonly model_label?: string;
  readonly backend: string;
  readonly machine: string;
  readonly cpus: number;
  readonly node: string;
  readonly platform: string;
  readonly date: string;
  /** The override, or null when each prompt's `max_tokens` was used. */
  readonly maxTokens: number | null;
  readonly temperature: number;
  readonly seed: number;
  readonly repeats: number;
  readonly warmup: boolean;
  readonly ignoreEos: boolean;
  readonly prompts: number;
  readonly strategies: readonly string[];
}

/** Everything a benchmark produced; `writeReports` writes it as bench.json as is. */
export interface BenchResult {
  readonly meta: BenchMeta;
  readonly summary: readonly BenchSummary[];
  readonly runs: readonly BenchRun[];
  /** Cost curves by model name (see `measureCostCurve`), added by the caller. */
  cost_curve?: Record<string, readonly CostPoint[]>;
  /** The transformers.js baseline (see `transformersJsBaseline`), added by the caller. */
  transformers_js?: TransformersJsBaselineResult;
  /** ONNX Runtime intra-op threads tried per model and the one chosen, added by the caller. */
  threads?: Record<string, ThreadsChoice>;
}

/** One model's threads sweep: the cost curve per setting, and the setting the benchmark used. */
export interface ThreadsChoice {
  readonly chosen: number;
  /** What the choice minimized, e.g. `sum of median ms over k = 1, 2, 4, 8, 16`. */
  readonly criterion: string;
  readonly sweep: readonly {
    readonly threads: number;
    readonly score_ms: number;
    readonly cost_curve: readonly CostPoint[];
  }[];
}

const DEFAULT_MAX_TOKENS = 128;

function checkOptions(options: RunBenchOptions): void {
  const { strategies, prompts, repeats = 1, maxTokens, temperature = 0, seed = 0 } = options;
  const fail = (argument: string, message: string): never => {
    throw new InvalidArgumentError({ argument, message });
  };
  if (!options.model || typeof options.model.createSequence !== 'function') {
    fail('model', 'runBench needs a CausalLM (e.g. from createCpuBackend().load()).');
  }
  if (!Number.isInteger(repeats) || repeats < 1)
    fail('repeats', `must be a positive integer, got ${repeats}.`);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    fail('maxTokens', `must be a positive integer, got ${maxTokens}.`);
  }
  if (!Number.isFinite(temperature) || temperature < 0)
    fail('temperature', `must be ≥ 0, got ${temperature}.`);
  if (!Number.isInteger(seed)) fail('seed', `must be an integer, got ${seed}.`);
  if (!Array.isArray(prompts) || prompts.length === 0) fail('prompts', 'give at least one prompt.');
  const ids = new Set<string>();
  for (const prompt of prompts) {
    if (ids.has(prompt.id)) fail('prompts', `prompt id "${prompt.id}" appears twice.`);
    ids.add(prompt.id);
    if (
      prompt.max_tokens !== undefined &&
      (!Number.isInteger(prompt.max_tokens) || prompt.max_tokens < 1)
    ) {
      fail(
        'prompts',
        `max_tokens of "${prompt.id}" must be a positive integer, got ${prompt.max_tokens}.`,
      );
    }
  }
  const names = new Set<string>([AR]);
  for (const strategy of strategies) {
    if (typeof strategy.create !== 'function')
      fail('strategies', `"${strategy.name}" has no create() function.`);
    if (names.has(strategy.name)) {
      fail(
        'strategies',
        `strategy name "${strategy.name}" is ${strategy.name === AR ? 'reserved for the baseline' : 'used twice'}.`,
      );
    }
    names.add(strategy.name);
  }
}

const rssMb = (): number => process.memoryUsage.rss() / (1024 * 1024);

/** How often (in stream events) RSS is sampled during a generation; sampling costs about a microsecond. */
const RSS_EVERY_EVENTS = 32;

interface Generation {
  ids: number[];
  reason: string;
  stats: DecodeStats;
  peakRssMb: number;
  forwardRows: Record<string, number>;
  cpuMs: number;
}

/**
 * Benchmarks strategies against autoregressive decoding (AR) on one model, in one process. Runs are
 * interleaved — for each repeat, for each prompt: AR, then every strategy — so machine noise hits all of
 * them alike, and every speedup compares runs made back to back on the same prompt.
 *
 * @example
 * const result = await runBench({
 *   model,
 *   strategies: [{ name: 'pld', lossless: true, create: () => speculative({ drafter: promptLookup() }) }],
 *   prompts: [{ id: 'story', prompt: 'Once upon a time', max_tokens: 64 }],
 *   repeats: 3,
 * });
 */
export async function runBench(options: RunBenchOptions): Promise<BenchResult> {
  checkOptions(options);
  const {
    model,
    strategies,
    prompts,
    temperature = 0,
    seed = 0,
    repeats = 1,
    warmup = true,
  } = options;
  const ignoreEos = options.ignoreEos ?? false;
  // Rows of every target forward of the current generation (the first is the prefill).
  let forwardRows: number[] = [];
  const counted = wrapModel({
    model,
    middleware: {
      name: 'bench-forward-rows',
      wrapForward: ({ input, options: forwardOptions, doForward }) => {
        forwardRows.push(input.tokens.length);
        return doForward(input, forwardOptions);
      },
    },
  });
  const baseDecoder = createDecoder({ model: counted });
  const entries: { name: string; lossless: boolean; create: () => Strategy | undefined }[] = [
    { name: AR, lossless: true, create: () => undefined },
    ...strategies,
  ];
  // Fail fast on strategies the model cannot run (missing capabilities), before any timing.
  for (const entry of strategies) baseDecoder.use(entry.create());

  const maxTokensOf = (prompt: BenchPrompt): number =>
    options.maxTokens ?? prompt.max_tokens ?? DEFAULT_MAX_TOKENS;
  const generate = async (
    create: () => Strategy | undefined,
    prompt: BenchPrompt,
    repeat: number,
  ): Promise<Generation> => {
    const strategy = create();
    const decoder = strategy ? baseDecoder.use(strategy) : baseDecoder;
    let peakRssMb = rssMb();
    let events = 0;
    forwardRows = [];
    const cpuStart = process.cpuUsage();
    for await (const event of decoder.stream(prompt.prompt, {
      maxTokens: maxTokensOf(prompt),
      temperature,
      seed: seed + repeat,
      ignoreEos,
      signal: options.signal,
    })) {
      if (++events % RSS_EVERY_EVENTS === 0) peakRssMb = Math.max(peakRssMb, rssMb());
      if (event.type === 'done') {
        const cpu = process.cpuUsage(cpuStart);
        peakRssMb = Math.max(peakRssMb, rssMb());
        const histogram: Record<string, number> = {};
        for (const rows of forwardRows.slice(1)) histogram[rows] = (histogram[rows] ?? 0) + 1;
        return {
          ids: event.tokens,
          reason: event.reason,
          stats: event.stats,
          peakRssMb,
          forwardRows: histogram,
          cpuMs: (cpu.user + cpu.system) / 1000,
        };
      }
    }
    throw new InvariantError({ message: 'a generation ended without a done event' });
  };

  if (warmup) {
    for (const [index, entry] of entries.entries()) {
      options.onProgress?.({
        phase: 'warmup',
        strategy: entry.name,
        prompt_id: prompts[0].id,
        repeat: 0,
        completed: index,
        total: entries.length,
      });
      await generate(entry.create, prompts[0], 0);
    }
  }

  const runs: BenchRun[] = [];
  const peakRss = new Map<string, number>();
  const total = repeats * prompts.length * entries.length;
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const prompt of prompts) {
      let ar: Generation | undefined;
      for (const entry of entries) {
        options.onProgress?.({
          phase: 'run',
          strategy: entry.name,
          prompt_id: prompt.id,
          repeat,
          completed: runs.length,
          total,
        });
        const generation = await generate(entry.create, prompt, repeat);
        ar ??= generation; // AR is always first
        peakRss.set(entry.name, Math.max(peakRss.get(entry.name) ?? 0, generation.peakRssMb));
        runs.push(
          toRun(entry.name, prompt.id, repeat, generation, ar, temperature, options.costCurve),
        );
      }
    }
  }

  return {
    meta: {
      model: model.info.name,
      ...(options.modelLabel ? { model_label: options.modelLabel } : {}),
      backend: model.capabilities.backendId,
      machine: cpus()[0]?.model ?? 'unknown',
      cpus: cpus().length,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      date: new Date().toISOString(),
      maxTokens: options.maxTokens ?? null,
      temperature,
      seed,
      repeats,
      warmup,
      ignoreEos,
      prompts: prompts.length,
      strategies: entries.map(entry => entry.name),
    },
    summary: summarize(runs, entries, peakRss),
    runs,
  };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** Decode ms per generated token (the ratio of two of these is the speedup). */
function msPerToken(generation: Generation): number {
  return generation.stats.decodeMs / Math.max(1, generation.ids.length);
}

/** CPU ms per generated token. */
function cpuMsPerToken(generation: Generation): number {
  return generation.cpuMs / Math.max(1, generation.ids.length);
}

function toRun(
  strategy: string,
  promptId: string,
  repeat: number,
  generation: Generation,
  ar: Generation,
  temperature: number,
  costCurve: readonly CostPoint[] | undefined,
): BenchRun {
  const { stats } = generation;
  const mine = msPerToken(generation);
  const mineCpu = cpuMsPerToken(generation);
  return {
    strategy,
    prompt_id: promptId,
    repeat,
    tokens: generation.ids.length,
    forward_passes: stats.forwardPasses,
    tau: stats.meanAcceptedTokens,
    tokens_per_s: stats.tokensPerSecond,
    decode_ms: stats.decodeMs,
    prefill_ms: stats.prefillMs,
    speedup_vs_ar: mine > 0 ? msPerToken(ar) / mine : Number.NaN,
    cpu_ms: generation.cpuMs,
    cpu_speedup_vs_ar: mineCpu > 0 ? cpuMsPerToken(ar) / mineCpu : Number.NaN,
    identical_to_ar: temperature === 0 ? sameIds(generation.ids, ar.ids) : null,
    draft_ms: stats.draftMs ?? null,
    verify_ms: stats.verifyMs ?? null,
    acceptance_rate: stats.acceptanceRate ?? null,
    reason: generation.reason,
    forward_rows: generation.forwardRows,
    ceiling:
      costCurve && costCurve.length > 0
        ? speedupCeiling(costCurve, generation.forwardRows, stats.meanAcceptedTokens)
        : null,
  };
}

/** Aggregates runs per strategy, in the order strategies were given (AR first). */
export function summarize(
  runs: readonly BenchRun[],
  entries: readonly { name: string; lossless: boolean }[],
  peakRssMb: ReadonlyMap<string, number> = new Map(),
): BenchSummary[] {
  return entries.map(entry => {
    const own = runs.filter(run => run.strategy === entry.name);
    const rates = own.flatMap(run => (run.acceptance_rate === null ? [] : [run.acceptance_rate]));
    const timed = own.filter(run => run.verify_ms !== null);
    const decodeMs = timed.reduce((sum, run) => sum + run.decode_ms, 0);
    const outsideVerifyMs = timed.reduce(
      (sum, run) => sum + run.decode_ms - (run.verify_ms ?? 0),
      0,
    );
    const speedup = median(own.map(run => run.speedup_vs_ar));
    const cpuSpeedup = median(own.map(run => run.cpu_speedup_vs_ar));
    const ceilings = own.flatMap(run => (run.ceiling === null ? [] : [run.ceiling]));
    const ceiling = ceilings.length > 0 ? median(ceilings) : null;
    let forwards = 0;
    let rows = 0;
    for (const run of own) {
      for (const [size, count] of Object.entries(run.forward_rows ?? {})) {
        forwards += count;
        rows += Number(size) * count;
      }
    }
    return {
      strategy: entry.name,
      lossless: entry.lossless,
      runs: own.length,
      speedup_median: speedup,
      cpu_speedup_median: cpuSpeedup,
      tau_mean: mean(own.map(run => run.tau)),
      tokens_per_s_median: median(own.map(run => run.tokens_per_s)),
      acceptance_rate_mean: rates.length > 0 ? mean(rates) : null,
      mismatches: entry.lossless ? own.filter(run => run.identical_to_ar === false).length : 0,
      peak_rss_mb: round(peakRssMb.get(entry.name) ?? Number.NaN, 1),
      draft_fraction: timed.length > 0 && decodeMs > 0 ? outsideVerifyMs / decodeMs : null,
      rows_mean: forwards > 0 ? rows / forwards : Number.NaN,
      ceiling,
      efficiency: ceiling !== null && ceiling > 0 ? speedup / ceiling : null,
      cpu_efficiency: ceiling !== null && ceiling > 0 ? cpuSpeedup / ceiling : null,
    };
  });
}
