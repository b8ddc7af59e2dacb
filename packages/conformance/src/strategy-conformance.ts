import {
  createDecoder,
  noRepeatNgram,
  repetitionPenalty,
  type CausalLM,
  type GenerateOptions,
  type LoadedModel,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { chiSquareTest } from './chi-square.js';
import { exactJoint } from './exact-joint.js';
import { loadReferenceModel, REFERENCE_MODEL, referencePrompts } from './reference-model.js';
import { toyModel } from './toy-model.js';

/** Checks a strategy package must pass. Skips need a reason. */
export type StrategyCheck =
  'o-greedy-toy' | 'o-dist' | 'o-greedy-real' | 'o-greedy-real-processors' | 'o-seeded';

/** Options of `runStrategyConformance`. */
export interface StrategyConformanceOptions {
  /** Name shown in the test titles. */
  name: string;
  /**
   * Makes a strategy instance. O-greedy makes a fresh one per generation; O-dist makes one and reuses it
   * warm across every sample, as users run it (token recycling's matrix, ADED's store, copyspec's history
   * and adaptive sizing all carry over). It receives the target model, so a draft-model strategy can pick a
   * drafter with the same vocabulary (a toy model for toy targets, a real one for stories260K).
   */
  strategy: (target: { model: CausalLM; kind: 'toy' | 'real' }) => Strategy | Promise<Strategy>;
  /** Checks to skip, each with the reason. */
  skip?: Partial<Record<StrategyCheck, string>>;
  /** Samples for O-dist (default and minimum 100,000). */
  samples?: number;
  /** Tokens per O-greedy real-model prompt (default: the prompt file's max_tokens). */
  maxTokens?: number;
  /**
   * The real model to check on (default: stories260K on the CPU backend). GPU backend packages pass their
   * own loaded stories260K so the same suite runs on their backend.
   */
  referenceModel?: () => Promise<LoadedModel>;
  /** Use only every n-th bench prompt on the real model (slow backends; default 1 = all). */
  promptStride?: number;
}

async function generateIds(
  model: CausalLM,
  strategy: Strategy | undefined,
  prompt: readonly number[],
  options: GenerateOptions,
  processors: readonly LogitsProcessor<unknown>[] = [],
) {
  let decoder = createDecoder({ model, processors });
  if (strategy) decoder = decoder.use(strategy);
  return decoder.generate({ tokens: prompt }, options);
}

function check(
  name: StrategyCheck,
  skip: StrategyConformanceOptions['skip'],
  title: string,
  body: () => Promise<void>,
  timeout?: number,
): void {
  const reason = skip?.[name];
  if (reason) it.skip(`${title} (skipped: ${reason})`, body);
  else it(title, body, timeout);
}

/** What `distributionCheck` measured. */
export interface DistributionCheckResult {
  pValue: number;
  statistic: number;
  degreesOfFreedom: number;
  /** Counts per outcome (base-vocab index of the sampled tokens). */
  observed: number[];
  /** The exact processed target joint. */
  joint: Float64Array;
}

/** The O-dist setting: an enumerable toy model, a 3-token horizon, T = 0.9, top-k 6, repetition penalty 1.2. */
export const O_DIST_SETTING = {
  prompt: [1, 2, 1] as readonly number[],
  steps: 3,
  vocabSize: 8,
  options: {
    maxTokens: 3,
    temperature: 0.9,
    topK: 6,
    repetitionPenalty: 1.2,
  } satisfies GenerateOptions,
};

/**
 * O-dist: draws `samples` generations of `steps` tokens with seeds 0..samples-1 from one decoder running
 * `strategy` (one warm instance for all samples; undefined = autoregressive) and compares the histogram with
 * the exact processed target joint by a chi-square test. A correct sampler passes (p > 0.01 but for 1% of
 * seeds sets); a sampler that moves 2% of the probability onto one token fails (the negative control in
 * this package's tests).
 */
export async function distributionCheck({
  model,
  strategy,
  samples,
  prompt = O_DIST_SETTING.prompt,
  steps = O_DIST_SETTING.steps,
  options = O_DIST_SETTING.options,
  processors = [],
}: {
  model: CausalLM;
  strategy: Strategy | undefined;
  samples: number;
  prompt?: readonly number[];
  steps?: number;
  options?: GenerateOptions;
  processors?: readonly LogitsProcessor<unknown>[];
}): Promise<DistributionCheckResult> {
  const vocab = model.info.vocabSize;
  const joint = await exactJoint({
    model,
    prompt,
    steps,
    options: { ...options, maxTokens: steps },
    processors,
  });
  let decoder = createDecoder({ model, processors });
  if (strategy) decoder = decoder.use(strategy);
  const observed = Array.from({ length: joint.length }, () => 0);
  for (let seed = 0; seed < samples; seed++) {
    const { tokens } = await decoder.generate(
      { tokens: prompt },
      { ...options, maxTokens: steps, seed },
    );
    if (tokens.length !== steps)
      throw new Error(`sample ${seed} has ${tokens.length} tokens, expected ${steps}`);
    observed[tokens.reduce((index, token) => index * vocab + token, 0)] += 1;
  }
  const { pValue, statistic, degreesOfFreedom } = chiSquareTest(observed, Array.from(joint));
  return { pValue, statistic, degreesOfFreedom, observed, joint };
}

/** What `greedyCheck` found: prompts whose output differs from autoregressive greedy. */
export interface GreedyCheckResult {
  mismatches: { prompt: readonly number[]; expected: number[]; actual: number[] }[];
}

/**
 * O-greedy: for every prompt, the strategy's output at temperature 0 (a fresh instance per prompt from
 * `makeStrategy`) equals plain autoregressive greedy decoding with the same processors and options.
 */
export async function greedyCheck({
  model,
  makeStrategy,
  prompts,
  options,
  processors = () => [],
}: {
  model: CausalLM;
  makeStrategy: () => Strategy | Promise<Strategy>;
  prompts: readonly (readonly number[])[];
  options: GenerateOptions;
  processors?: () => readonly LogitsProcessor<unknown>[];
}): Promise<GreedyCheckResult> {
  const mismatches: GreedyCheckResult['mismatches'] = [];
  for (const prompt of prompts) {
    const generate = { ...options, temperature: 0 };
    const reference = await generateIds(model, undefined, prompt, generate, processors());
    const result = await generateIds(model, await makeStrategy(), prompt, generate, processors());
    if (result.tokens.join() !== reference.tokens.join()) {
      mismatches.push({ prompt, expected: reference.tokens, actual: result.tokens });
    }
  }
  return { mismatches };
}

/**
 * Runs `body` while `threads` worker threads spin on the CPU (machine load), then stops them. The seeded
 * check uses it: whatever the load, a fixed seed must give the same tokens.
 */
export async function underLoad<TResult>(
  body: () => Promise<TResult>,
  threads = 2,
): Promise<TResult> {
  const { Worker } = await import('node:worker_threads');
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const source =
    "const { workerData } = require('node:worker_threads'); let x = 0;" +
    'while (Atomics.load(workerData, 0) === 0) { for (let i = 0; i < 100000; i++) x = (x * 1103515245 + 12345) | 0; }';
  const workers = Array.from(
    { length: threads },
    () => new Worker(source, { eval: true, workerData: stop }),
  );
  await Promise.all(workers.map(worker => new Promise(resolve => worker.once('online', resolve))));
  try {
    return await body();
  } finally {
    Atomics.store(stop, 0, 1);
    await Promise.all(workers.map(worker => worker.terminate()));
  }
}

/**
 * The strategy suites of DESIGN.md, as functions any strategy package (ours or a third party's) runs:
 * - O-greedy on a toy model: token-identical to autoregressive greedy, with penalties and n-gram bans, EOS
 *   inside an accepted block and a maxTokens cut inside a block.
 * - O-dist on an enumerable toy model: at T > 0 the distribution of 3-token outputs matches the exact
 *   processed target joint (chi-square, p > 0.01, fixed seeds). Lossy strategies skip it with a reason.
 * - O-greedy on stories260K: every prompt of bench/stories.jsonl and bench/grounded.jsonl and BOS alone,
 *   token-identical to autoregressive greedy; and again with a repetition penalty and no-repeat-n-gram.
 */
export function runStrategyConformance(options: StrategyConformanceOptions): void {
  const { name, skip } = options;
  describe(`${name} · strategy conformance`, () => {
    describe('O-greedy on toy models', () => {
      const cases = [
        { title: 'plain', processors: () => [] as LogitsProcessor<unknown>[], generate: {} },
        {
          title: 'repetition penalty 1.3',
          processors: () => [],
          generate: { repetitionPenalty: 1.3 },
        },
        { title: 'no-repeat-ngram 3', processors: () => [noRepeatNgram(3)], generate: {} },
        {
          title: 'penalty + n-gram processors',
          processors: () => [repetitionPenalty(1.2), noRepeatNgram(3)],
          generate: {},
        },
      ];
      for (const testCase of cases) {
        check(
          'o-greedy-toy',
          skip,
          `identical to autoregressive greedy (${testCase.title})`,
          async () => {
            for (const seed of [1, 2, 3]) {
              const model = toyModel({ vocabSize: 16, seed, copyBias: 3 });
              for (const prompt of [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]]) {
                const generate = { maxTokens: 40, temperature: 0, ...testCase.generate };
                const reference = await generateIds(
                  model,
                  undefined,
                  prompt,
                  generate,
                  testCase.processors(),
                );
                const result = await generateIds(
                  model,
                  await options.strategy({ model, kind: 'toy' }),
                  prompt,
                  generate,
                  testCase.processors(),
                );
                expect(result.tokens, `seed ${seed}, prompt ${prompt}`).toEqual(reference.tokens);
              }
            }
          },
        );
      }
      check(
        'o-greedy-toy',
        skip,
        'stops exactly at EOS inside an accepted block and at a maxTokens cut',
        async () => {
          for (const seed of [4, 5, 6]) {
            const model = toyModel({ vocabSize: 12, seed, copyBias: 4, eosTokenIds: [3] });
            const prompt = [1, 2, 1, 2, 1, 2];
            for (const maxTokens of [1, 2, 3, 5, 7, 11, 30]) {
              const reference = await generateIds(model, undefined, prompt, {
                maxTokens,
                temperature: 0,
              });
              const result = await generateIds(
                model,
                await options.strategy({ model, kind: 'toy' }),
                prompt,
                { maxTokens, temperature: 0 },
              );
              expect(result.tokens).toEqual(reference.tokens);
              expect(result.reason).toBe(reference.reason);
            }
          }
        },
      );
    });

    check(
      'o-dist',
      skip,
      'O-dist: 100,000 samples of one warm instance match the exact processed target joint (chi-square p > 0.01)',
      async () => {
        const model = toyModel({ vocabSize: O_DIST_SETTING.vocabSize, seed: 11, copyBias: 2 });
        const strategy = await options.strategy({ model, kind: 'toy' });
        const samples = Math.max(options.samples ?? 100_000, 100_000);
        const { pValue, statistic, degreesOfFreedom } = await distributionCheck({
          model,
          strategy,
          samples,
        });
        expect(pValue, `chi2 = ${statistic.toFixed(1)}, df = ${degreesOfFreedom}`).toBeGreaterThan(
          0.01,
        );
      },
      600_000,
    );

    check(
      'o-seeded',
      skip,
      'O-seeded: at T = 0.8 a fixed seed gives the same tokens idle and with the CPU loaded by busy threads',
      async () => {
        const { loadModel } = await import('@decodekit/backend-onnx');
        const idleModel = await (options.referenceModel ?? loadReferenceModel)();
        // A second instance of the model: nothing measured in this process carries over except what the
        // backend persisted (the cost profile), as in a new run of the program.
        const busyModel = options.referenceModel ? idleModel : await loadModel(REFERENCE_MODEL);
        const prompts = referencePrompts(idleModel).filter((_, i) => i % 8 === 0);
        const generate: GenerateOptions = { maxTokens: 48, temperature: 0.8, topP: 0.95, seed: 5 };
        const idle: number[][] = [];
        for (const prompt of prompts) {
          idle.push(
            (
              await generateIds(
                idleModel,
                await options.strategy({ model: idleModel, kind: 'real' }),
                prompt.ids,
                generate,
              )
            ).tokens,
          );
        }
        const busy = await underLoad(async () => {
          const outputs: number[][] = [];
          for (const prompt of prompts) {
            outputs.push(
              (
                await generateIds(
                  busyModel,
                  await options.strategy({ model: busyModel, kind: 'real' }),
                  prompt.ids,
                  generate,
                )
              ).tokens,
            );
          }
          return outputs;
        });
        if (busyModel !== idleModel) await busyModel.dispose();
        expect(busy).toEqual(idle);
      },
      600_000,
    );

    describe('O-greedy on stories260K', () => {
      check(
        'o-greedy-real',
        skip,
        'every bench prompt and BOS alone: identical to autoregressive greedy',
        async () => {
          const model = await (options.referenceModel ?? loadReferenceModel)();
          let mismatches = 0;
          for (const prompt of referencePrompts(model).filter(
            (_, i) => i % (options.promptStride ?? 1) === 0,
          )) {
            const generate = { maxTokens: options.maxTokens ?? prompt.maxTokens, temperature: 0 };
            const reference = await generateIds(model, undefined, prompt.ids, generate);
            const result = await generateIds(
              model,
              await options.strategy({ model, kind: 'real' }),
              prompt.ids,
              generate,
            );
            if (result.tokens.join() !== reference.tokens.join()) mismatches += 1;
            expect(result.tokens, prompt.id).toEqual(reference.tokens);
          }
          expect(mismatches).toBe(0);
        },
        600_000,
      );
      check(
        'o-greedy-real-processors',
        skip,
        'with repetition penalty 1.3 and no-repeat-ngram 3: identical to autoregressive',
        async () => {
          const model = await (options.referenceModel ?? loadReferenceModel)();
          for (const prompt of referencePrompts(model).filter(
            (_, i) => i % (6 * (options.promptStride ?? 1)) === 0,
          )) {
            const generate = {
              maxTokens: 64,
              temperature: 0,
              repetitionPenalty: 1.3,
              noRepeatNgramSize: 3,
            };
            const reference = await generateIds(model, undefined, prompt.ids, generate);
            const result = await generateIds(
              model,
              await options.strategy({ model, kind: 'real' }),
              prompt.ids,
              generate,
            );
            expect(result.tokens, prompt.id).toEqual(reference.tokens);
          }
        },
        600_000,
      );
    });
  });
}
