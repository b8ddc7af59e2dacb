import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import {
  loadReferenceModel,
  referencePrompts,
  runStrategyConformance,
  toyModel,
} from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  foreignNames,
  judgeDecoding,
  linearJudgeHead,
  type JudgeHead,
  type LinearJudgeHeadJSON,
} from './index.js';

// The real pair: llama2xs drafts for stories260K. The head was fitted by measure.int.test.ts.
let llama2xs: Promise<LoadedModel> | undefined;
const head = linearJudgeHead(
  JSON.parse(
    readFileSync(resolve(__dirname, '__fixtures__/llama2xs-stories260K-judge.json'), 'utf8'),
  ),
);

// Its exactness limit: without a judge it is speculative decoding with greedy drafts, so the whole suite applies.
runStrategyConformance({
  name: 'judge-decoding (no judge = SpS)',
  strategy: async ({ model, kind }) =>
    judgeDecoding({
      draft:
        kind === 'real'
          ? await (llama2xs ??= loadModel('llama2xs'))
          : toyModel({ vocabSize: model.info.vocabSize, seed: 1234, copyBias: 2 }),
    }),
});

// With the judge it is LOSSY by design; its own checks are in judge-decoding.test.ts and below.
runStrategyConformance({
  name: 'judge-decoding (fitted judge, lossy)',
  strategy: async ({ model }) => judgeDecoding({ draft: model, judge: head, threshold: 0.9 }),
  skip: {
    'o-greedy-toy': 'lossy by design (the judge accepts tokens the target would not choose)',
    'o-dist': 'lossy by design (the judge accepts tokens the target would not choose)',
    'o-greedy-real': 'lossy by design (the judge accepts tokens the target would not choose)',
    'o-greedy-real-processors':
      'lossy by design (the judge accepts tokens the target would not choose)',
  },
});

describe('judge-decoding on llama2xs → stories260K with the fitted head', () => {
  it('accepts more draft tokens than SpS and threshold +∞ restores target greedy', async () => {
    const target = await loadReferenceModel();
    const draft = await (llama2xs ??= loadModel('llama2xs'));
    const judged = judgeDecoding({ draft, judge: head, threshold: 0.9 });
    const exact = judgeDecoding({ draft, judge: head, threshold: Infinity });
    for (const prompt of referencePrompts(target).slice(0, 6)) {
      const options = { maxTokens: 64, temperature: 0 };
      const reference = await createDecoder({ model: target }).generate(
        { tokens: prompt.ids },
        options,
      );
      await createDecoder({ model: target }).use(judged).generate({ tokens: prompt.ids }, options);
      const result = await createDecoder({ model: target })
        .use(exact)
        .generate({ tokens: prompt.ids }, options);
      expect(result.tokens, prompt.id).toEqual(reference.tokens);
    }
    expect(exact.totals.acceptedByJudge).toBe(0);
    expect(judged.totals.acceptedByJudge).toBeGreaterThan(0);
    expect(judged.totals.acceptedByJudge + judged.totals.acceptedByTarget).toBeGreaterThan(0);
    const rate = (t: typeof judged.totals) => (t.acceptedByJudge + t.acceptedByTarget) / t.proposed;
    expect(rate(judged.totals)).toBeGreaterThan(rate(exact.totals));
  }, 120_000);
});

describe('judge decoding with a head trained on correctness labels (grounded names)', () => {
  // Fitted by scripts/grounded-judge.ts: labels from the grounded-names check, not from likelihood.
  const fixture = JSON.parse(
    readFileSync(resolve(__dirname, '__fixtures__/grounded-names-judge.json'), 'utf8'),
  ) as LinearJudgeHeadJSON & { names: string[] };
  const names = new Set(fixture.names);
  const judge = linearJudgeHead(fixture);
  const heldOut = ['stories', 'grounded'].flatMap(set =>
    readFileSync(resolve(__dirname, `../../../../bench/${set}.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map(line => (JSON.parse(line) as { prompt: string }).prompt),
  );

  it('accepts far more draft tokens than standard verification at no loss of task accuracy; an accept-all judge loses it', async () => {
    const target = await loadReferenceModel();
    const draft = await (llama2xs ??= loadModel('llama2xs'));
    const acceptAll: JudgeHead = { inputSize: target.info.hiddenSize, score: () => 1 };
    const run = async (strategyJudge: JudgeHead | undefined, threshold: number) => {
      const strategy = judgeDecoding({ draft, judge: strategyJudge, threshold });
      let grounded = 0;
      for (const prompt of heldOut) {
        const { text } = await createDecoder({ model: target, tokenizer: target.tokenizer })
          .use(strategy)
          .generate(prompt, { maxTokens: 96, temperature: 0 });
        if (foreignNames(prompt, text, names).length === 0) grounded++;
      }
      const { acceptedByTarget, acceptedByJudge, proposed } = strategy.totals;
      return { grounded, acceptance: (acceptedByTarget + acceptedByJudge) / proposed };
    };
    const standard = await run(undefined, Infinity);
    const judged = await run(judge, 0.99);
    const control = await run(acceptAll, 0.5);
    expect(judged.acceptance).toBeGreaterThan(standard.acceptance + 0.3);
    expect(judged.grounded).toBeGreaterThanOrEqual(standard.grounded);
    // Negative control: accepting every draft token gives the draft's invented names back.
    expect(control.grounded).toBeLessThan(standard.grounded - 4);
    expect(control.grounded).toBeLessThan(judged.grounded - 4);
  }, 180_000);
});
