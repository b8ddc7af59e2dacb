import {
  createDecoder,
  noRepeatNgram,
  type CausalLM,
  type Encoding,
  type EncoderDecoder,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { distributionCheck, greedyCheck, O_DIST_SETTING } from './strategy-conformance.js';

/** Checks of `runSeq2SeqConformance`. Skips need a reason. */
export type Seq2SeqCheck = 'o-greedy' | 'encoder-once' | 'o-dist';

/** Options of `runSeq2SeqConformance`. */
export interface Seq2SeqConformanceOptions {
  /** Name shown in the test titles. */
  name: string;
  /**
   * Makes a strategy instance for `model` (a fresh one per generation in O-greedy, one warm instance for
   * every O-dist sample).
   */
  strategy: (target: { model: CausalLM }) => Strategy | Promise<Strategy>;
  /**
   * The encoder-decoder model O-greedy runs on (`model.encoderDecoder` set): e.g. the models package's
   * builder-made tiny seq2seq folder loaded by a backend.
   */
  model: () => Promise<CausalLM>;
  /** Source token ids for O-greedy (each a prompt for the encoder). */
  sources: readonly (readonly number[])[];
  /** Decoder tokens per O-greedy generation (default 32). */
  maxTokens?: number;
  /**
   * An encoder-decoder model with an 8-token vocabulary for O-dist, fast enough for 100,000 generations
   * (the models package's `seq2seqReferenceModel` over `randomSeq2SeqWeights`). Required unless 'o-dist' is
   * skipped.
   */
  distributionModel?: () => CausalLM | Promise<CausalLM>;
  /** O-dist samples (default and minimum 100,000). */
  samples?: number;
  skip?: Partial<Record<Seq2SeqCheck, string>>;
}

/**
 * `model` with its encoder wrapped to count runs (sequences are still opened by the model itself: the
 * encodings are the model's own).
 */
function countingEncoder(model: CausalLM): { model: CausalLM; runs: () => number } {
  const inner = model.encoderDecoder;
  if (inner === undefined) {
    throw new Error(`${model.info.name} is not an encoder-decoder model (no encoderDecoder).`);
  }
  let runs = 0;
  const encoderDecoder: EncoderDecoder = {
    decoderStartTokenId: inner.decoderStartTokenId,
    maxSourceLength: inner.maxSourceLength,
    encode(tokens, options): Promise<Encoding> {
      runs += 1;
      return inner.encode(tokens, options);
    },
  };
  const counted = Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
    encoderDecoder,
  }) as CausalLM;
  return { model: counted, runs: () => runs };
}

function check(
  name: Seq2SeqCheck,
  skip: Seq2SeqConformanceOptions['skip'],
  title: string,
  body: () => Promise<void>,
  timeout?: number,
): void {
  const reason = skip?.[name];
  if (reason) it.skip(`${title} (skipped: ${reason})`, body);
  else it(title, body, timeout);
}

/**
 * The strategy suites on an encoder-decoder model (SPECS "return-of-the-encoder"): the prompt is the
 * encoder's source and decoding starts from the decoder start token.
 * - O-greedy: at T = 0 the strategy's decoder tokens equal autoregressive greedy decoding on the same model,
 *   plain, with a repetition penalty and with no-repeat-n-gram.
 * - Encoder once: whatever the strategy forks or drafts, each generation runs the encoder exactly once
 *   (counted at the model's encoder and in `stats.encoderCalls`).
 * - O-dist: on an 8-token seq2seq model, 100,000 samples of 3 decoder tokens of one warm strategy instance
 *   match the exact processed joint (chi-square p > 0.01). Lossy and search strategies skip it.
 */
export function runSeq2SeqConformance(options: Seq2SeqConformanceOptions): void {
  const { name, skip } = options;
  const maxTokens = options.maxTokens ?? 32;
  describe(`${name} · seq2seq conformance`, () => {
    const cases: {
      title: string;
      processors: () => LogitsProcessor<unknown>[];
      generate: { repetitionPenalty?: number };
    }[] = [
      { title: 'plain', processors: () => [], generate: {} },
      {
        title: 'repetition penalty 1.3',
        processors: () => [],
        generate: { repetitionPenalty: 1.3 },
      },
      { title: 'no-repeat-ngram 3', processors: () => [noRepeatNgram(3)], generate: {} },
    ];
    for (const testCase of cases) {
      check(
        'o-greedy',
        skip,
        `O-greedy: identical to autoregressive greedy on the encoder-decoder model (${testCase.title})`,
        async () => {
          const model = await options.model();
          const { mismatches } = await greedyCheck({
            model,
            makeStrategy: () => options.strategy({ model }),
            prompts: options.sources,
            options: { maxTokens, ...testCase.generate },
            processors: testCase.processors,
          });
          expect(mismatches).toEqual([]);
        },
        120_000,
      );
    }
    check(
      'encoder-once',
      skip,
      'runs the encoder exactly once per generation (counted at the encoder and in stats.encoderCalls)',
      async () => {
        const counted = countingEncoder(await options.model());
        for (const [index, source] of options.sources.entries()) {
          const decoder = createDecoder({ model: counted.model }).use(
            await options.strategy({ model: counted.model }),
          );
          const result = await decoder.generate({ tokens: source }, { maxTokens, temperature: 0 });
          expect(result.stats.encoderCalls).toBe(1);
          expect(counted.runs()).toBe(index + 1);
        }
      },
      120_000,
    );
    check(
      'o-dist',
      skip,
      'O-dist: 100,000 samples on an 8-token encoder-decoder model match the exact processed joint (chi-square p > 0.01)',
      async () => {
        if (options.distributionModel === undefined) {
          throw new Error('O-dist needs `distributionModel` (or a skip reason for "o-dist").');
        }
        const model = await options.distributionModel();
        expect(model.info.vocabSize).toBe(O_DIST_SETTING.vocabSize);
        const strategy = await options.strategy({ model });
        const { pValue, statistic, degreesOfFreedom } = await distributionCheck({
          model,
          strategy,
          samples: Math.max(options.samples ?? 100_000, 100_000),
        });
        expect(pValue, `chi2 = ${statistic.toFixed(1)}, df = ${degreesOfFreedom}`).toBeGreaterThan(
          0.01,
        );
      },
      600_000,
    );
  });
}
