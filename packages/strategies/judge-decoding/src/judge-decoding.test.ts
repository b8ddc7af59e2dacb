import {
  createDecoder,
  InvalidArgumentError,
  speculative,
  UnsupportedCapabilityError,
  type CausalLM,
  type Sequence,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, expect, it } from 'vitest';
import { fitJudgeHead, judgeDecoding, linearJudgeHead, rocAuc, type JudgeHead } from './index.js';

/** A toy model that also returns a one-hot of each row's input token as its "hidden state". */
function withOneHotHidden(model: CausalLM): CausalLM {
  const vocab = model.info.vocabSize;
  return {
    info: { ...model.info, hiddenSize: vocab },
    capabilities: { ...model.capabilities, hiddenStates: true },
    dispose: () => model.dispose(),
    createSequence() {
      const wrap = (inner: Sequence): Sequence => ({
        get tokens() {
          return inner.tokens;
        },
        async forward(input, options) {
          const out = await inner.forward(input, options);
          if (!input.hidden) return out;
          const hidden = new Float32Array(input.tokens.length * vocab);
          input.tokens.forEach((token, row) => (hidden[row * vocab + token] = 1));
          return { ...out, hidden };
        },
        commit: rows => inner.commit(rows),
        truncate: length => inner.truncate(length),
        fork: () => wrap(inner.fork()),
        dispose: () => inner.dispose(),
      });
      return wrap(model.createSequence());
    },
  };
}

const target = withOneHotHidden(toyModel({ vocabSize: 16, seed: 7, copyBias: 3 }));
const draft = toyModel({ vocabSize: 16, seed: 21, copyBias: 1 });
const prompts = [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]];
/** A judge that accepts exactly the even token ids (one-hot hidden state). */
const acceptsEven: JudgeHead = {
  inputSize: 16,
  score: hidden => hidden.reduce((sum, value, id) => sum + (id % 2 === 0 ? value : 0), 0),
};

async function generate(
  strategy: Parameters<ReturnType<typeof createDecoder>['use']>[0] | undefined,
  prompt: number[],
  options = {},
) {
  let decoder = createDecoder({ model: target });
  if (strategy) decoder = decoder.use(strategy);
  return decoder.generate({ tokens: prompt }, { maxTokens: 40, temperature: 0, ...options });
}

describe('judgeDecoding', () => {
  it('without a judge (or threshold +∞) equals greedy SpS and target greedy exactly, with the same acceptance', async () => {
    for (const prompt of prompts) {
      for (const options of [{}, { repetitionPenalty: 1.3 }]) {
        const reference = await generate(undefined, prompt, options);
        const sps = await generate(
          speculative({
            drafter: draftModel({ model: draft, schedule: 'constant', numAssistantTokens: 4 }),
            adaptive: false,
          }),
          prompt,
          options,
        );
        for (const strategy of [
          judgeDecoding({ draft, draftLength: 4 }),
          judgeDecoding({ draft, draftLength: 4, judge: acceptsEven, threshold: Infinity }),
        ]) {
          const result = await generate(strategy, prompt, options);
          expect(result.tokens).toEqual(reference.tokens);
          expect(strategy.lossless).toBe(true);
          expect(strategy.lastStats.acceptedByJudge).toBe(0);
          expect(strategy.lastStats.acceptedByTarget).toBe(sps.stats.acceptedDraftTokens);
          expect(strategy.lastStats.proposed).toBe(sps.stats.draftTokens);
        }
      }
    }
  });

  it('without a judge at T = 0.8 is token-identical to SpS with the same seed', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const options = { temperature: 0.8, seed, topK: 8 };
      const sps = await generate(
        speculative({
          drafter: draftModel({ model: draft, schedule: 'constant', numAssistantTokens: 4 }),
          adaptive: false,
        }),
        [1, 2, 3],
        options,
      );
      const result = await generate(judgeDecoding({ draft, draftLength: 4 }), [1, 2, 3], options);
      expect(result.tokens).toEqual(sps.tokens);
    }
  });

  it("with a judge, every emitted token is the target's choice or a token the judge accepted", async () => {
    for (const prompt of prompts) {
      const reference = await generate(undefined, prompt);
      const strategy = judgeDecoding({ draft, draftLength: 4, judge: acceptsEven, threshold: 0.5 });
      const { tokens } = await generate(strategy, prompt);
      for (let i = 0; i < tokens.length; i++) {
        const next = (
          await generate(undefined, [...prompt, ...tokens.slice(0, i)], { maxTokens: 1 })
        ).tokens[0];
        if (tokens[i] !== next) expect(tokens[i] % 2, `position ${i}`).toBe(0);
      }
      if (strategy.lastStats.acceptedByJudge > 0) expect(tokens).not.toEqual(reference.tokens);
    }
    const strategy = judgeDecoding({ draft, draftLength: 4, judge: acceptsEven, threshold: 0.5 });
    for (const prompt of prompts) await generate(strategy, prompt);
    expect(strategy.totals.acceptedByJudge).toBeGreaterThan(0);
    expect(strategy.lossless).toBe(false);
  });

  it('a judge that accepts everything accepts every draft token', async () => {
    const strategy = judgeDecoding({
      draft,
      draftLength: 3,
      judge: { inputSize: 16, score: () => 1 },
    });
    await generate(strategy, [1, 2, 3]);
    const { proposed, acceptedByJudge, acceptedByTarget } = strategy.lastStats;
    expect(acceptedByJudge + acceptedByTarget).toBe(proposed);
  });

  it('validates options and capabilities', async () => {
    expect(() => judgeDecoding({ draft: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => judgeDecoding({ draft, draftLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => judgeDecoding({ draft, threshold: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => judgeDecoding({ draft, judge: {} as never })).toThrow(InvalidArgumentError);
    const plain = toyModel({ vocabSize: 16, seed: 7 });
    // The decoder checks `requires` when the strategy is installed.
    expect(() =>
      createDecoder({ model: plain }).use(judgeDecoding({ draft, judge: acceptsEven })),
    ).toThrow(UnsupportedCapabilityError);
    // Without a judge nothing is required.
    expect(
      (
        await createDecoder({ model: plain })
          .use(judgeDecoding({ draft }))
          .generate({ tokens: [1] }, { maxTokens: 3 })
      ).tokens,
    ).toHaveLength(3);
    await expect(
      generate(judgeDecoding({ draft, judge: { inputSize: 5, score: () => 0 } }), [1]),
    ).rejects.toThrow(InvalidArgumentError);
  });
});

describe('fitJudgeHead', () => {
  it('fits a separable problem and round-trips through JSON', () => {
    let s = 12345;
    const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const samples = Array.from({ length: 400 }, () => {
      const features = Float32Array.from({ length: 6 }, () => rand() * 4 - 2);
      const label = (features[0] - 0.5 * features[3] + 0.3 * (rand() - 0.5) > 0 ? 1 : 0) as 0 | 1;
      return { features, label };
    });
    const head = fitJudgeHead(samples, { l2: 0.1 });
    const scores = samples.map(x => head.score(x.features));
    expect(
      rocAuc(
        scores,
        samples.map(x => x.label),
      ),
    ).toBeGreaterThan(0.97);
    const copy = linearJudgeHead(head.toJSON());
    expect(copy.score(samples[0].features)).toBeCloseTo(scores[0], 12);
    expect(() => fitJudgeHead([])).toThrow(InvalidArgumentError);
    expect(() => linearJudgeHead({ weights: [1], bias: 0, mean: [0], std: [0] })).toThrow(
      InvalidArgumentError,
    );
  });

  it('rocAuc of perfect, reversed and tied scores', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
  });
});
