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
import { loadReferenceModel, referencePrompts } from './reference-model.js';
import { toyModel } from './toy-model.js';

/** Checks a strategy package must pass. Skips need a reason. */
export type StrategyCheck = 'o-greedy-toy' | 'o-dist' | 'o-greedy-real' | 'o-greedy-real-processors';

/** Options of `runStrategyConformance`. */
export interface StrategyConformanceOptions {
  /** Name shown in the test titles. */
  name: string;
  /**
   * A fresh strategy per generation (drafters keep state). It receives the target model, so a draft-model
   * strategy can pick a drafter with the same vocabulary (a toy model for toy targets, a real one for
   * stories260K).
   */
  strategy: (target: { model: CausalLM; kind: 'toy' | 'real' }) => Strategy | Promise<Strategy>;
  /** Checks to skip, each with the reason. */
  skip?: Partial<Record<StrategyCheck, string>>;
  /** Samples for O-dist (default 20,000). */
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

async function generateIds(model: CausalLM, strategy: Strategy | undefined, prompt: readonly number[], options: GenerateOptions, processors: readonly LogitsProcessor<any>[] = []) {
  let decoder = createDecoder({ model, processors });
  if (strategy) decoder = decoder.use(strategy);
  return decoder.generate({ tokens: prompt }, options);
}

function check(name: StrategyCheck, skip: StrategyConformanceOptions['skip'], title: string, body: () => Promise<void>, timeout?: number): void {
  const reason = skip?.[name];
  if (reason) it.skip(`${title} (skipped: ${reason})`, body);
  else it(title, body, timeout);
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
        { title: 'plain', processors: () => [] as LogitsProcessor<any>[], generate: {} },
        { title: 'repetition penalty 1.3', processors: () => [], generate: { repetitionPenalty: 1.3 } },
        { title: 'no-repeat-ngram 3', processors: () => [noRepeatNgram(3)], generate: {} },
        { title: 'penalty + n-gram processors', processors: () => [repetitionPenalty(1.2), noRepeatNgram(3)], generate: {} },
      ];
      for (const testCase of cases) {
        check('o-greedy-toy', skip, `identical to autoregressive greedy (${testCase.title})`, async () => {
          for (const seed of [1, 2, 3]) {
            const model = toyModel({ vocabSize: 16, seed, copyBias: 3 });
            for (const prompt of [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]]) {
              const generate = { maxTokens: 40, temperature: 0, ...testCase.generate };
              const reference = await generateIds(model, undefined, prompt, generate, testCase.processors());
              const result = await generateIds(model, await options.strategy({ model, kind: 'toy' }), prompt, generate, testCase.processors());
              expect(result.tokens, `seed ${seed}, prompt ${prompt}`).toEqual(reference.tokens);
            }
          }
        });
      }
      check('o-greedy-toy', skip, 'stops exactly at EOS inside an accepted block and at a maxTokens cut', async () => {
        for (const seed of [4, 5, 6]) {
          const model = toyModel({ vocabSize: 12, seed, copyBias: 4, eosTokenIds: [3] });
          const prompt = [1, 2, 1, 2, 1, 2];
          for (const maxTokens of [1, 2, 3, 5, 7, 11, 30]) {
            const reference = await generateIds(model, undefined, prompt, { maxTokens, temperature: 0 });
            const result = await generateIds(model, await options.strategy({ model, kind: 'toy' }), prompt, { maxTokens, temperature: 0 });
            expect(result.tokens).toEqual(reference.tokens);
            expect(result.reason).toBe(reference.reason);
          }
        }
      });
    });

    check('o-dist', skip, 'O-dist: sampled 3-token outputs match the exact processed target joint (chi-square p > 0.01)', async () => {
      const model = toyModel({ vocabSize: 8, seed: 11, copyBias: 2 });
      const prompt = [1, 2, 1];
      const steps = 3;
      const generate: GenerateOptions = { maxTokens: steps, temperature: 0.9, topK: 6, repetitionPenalty: 1.2 };
      const joint = await exactJoint({ model, prompt, steps, options: generate });
      const samples = options.samples ?? 20_000;
      const observed = new Array<number>(joint.length).fill(0);
      for (let seed = 0; seed < samples; seed++) {
        const { tokens } = await generateIds(model, await options.strategy({ model, kind: 'toy' }), prompt, { ...generate, seed });
        expect(tokens).toHaveLength(steps);
        observed[tokens.reduce((index, token) => index * 8 + token, 0)] += 1;
      }
      const { pValue, statistic, degreesOfFreedom } = chiSquareTest(observed, Array.from(joint));
      expect(pValue, `chi2 = ${statistic.toFixed(1)}, df = ${degreesOfFreedom}`).toBeGreaterThan(0.01);
    }, 300_000);

    describe('O-greedy on stories260K', () => {
      check('o-greedy-real', skip, 'every bench prompt and BOS alone: identical to autoregressive greedy', async () => {
        const model = await (options.referenceModel ?? loadReferenceModel)();
        let mismatches = 0;
        for (const prompt of referencePrompts(model).filter((_, i) => i % (options.promptStride ?? 1) === 0)) {
          const generate = { maxTokens: options.maxTokens ?? prompt.maxTokens, temperature: 0 };
          const reference = await generateIds(model, undefined, prompt.ids, generate);
          const result = await generateIds(model, await options.strategy({ model, kind: 'real' }), prompt.ids, generate);
          if (result.tokens.join() !== reference.tokens.join()) mismatches += 1;
          expect(result.tokens, prompt.id).toEqual(reference.tokens);
        }
        expect(mismatches).toBe(0);
      }, 600_000);
      check('o-greedy-real-processors', skip, 'with repetition penalty 1.3 and no-repeat-ngram 3: identical to autoregressive', async () => {
        const model = await (options.referenceModel ?? loadReferenceModel)();
        for (const prompt of referencePrompts(model).filter((_, i) => i % (6 * (options.promptStride ?? 1)) === 0)) {
          const generate = { maxTokens: 64, temperature: 0, repetitionPenalty: 1.3, noRepeatNgramSize: 3 };
          const reference = await generateIds(model, undefined, prompt.ids, generate);
          const result = await generateIds(model, await options.strategy({ model, kind: 'real' }), prompt.ids, generate);
          expect(result.tokens, prompt.id).toEqual(reference.tokens);
        }
      }, 600_000);
    });
  });
}
