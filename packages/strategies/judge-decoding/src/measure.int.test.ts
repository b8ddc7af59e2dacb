// Fits a judge head on llama2xs → stories260K (bench/stories.jsonl prompts 0–19), reports its ROC AUC on
// prompts 20–29, and runs judge decoding on prompts 20–29 at T = 0 for several thresholds against greedy
// SpS (no judge): acceptance, tokens per target forward, agreement with stories260K greedy, perplexity
// under stories260K, speed. Off by default:
// DECODEKIT_MEASURE=1 npx vitest run packages/strategies/judge-decoding/src/measure.int.test.ts
// With DECODEKIT_WRITE_HEAD=1 it rewrites src/__fixtures__/llama2xs-stories260K-judge.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, type CausalLM } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { describe, it } from 'vitest';
import { collectJudgeSamples, fitJudgeHead, judgeDecoding, rocAuc } from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { prompt: string; max_tokens: number });

async function nll(model: CausalLM, prompt: number[], output: number[]): Promise<number> {
  const sequence = model.createSequence();
  try {
    const all = [...prompt, ...output];
    const { logits } = await sequence.forward({ tokens: Int32Array.from(all) });
    const vocab = model.info.vocabSize;
    let sum = 0;
    for (let i = prompt.length - 1; i < all.length - 1; i++) {
      const row = logits.subarray(i * vocab, (i + 1) * vocab);
      let max = -Infinity;
      for (const v of row) if (v > max) max = v;
      let z = 0;
      for (const v of row) z += Math.exp(v - max);
      sum += -(row[all[i + 1]] - max - Math.log(z));
    }
    return sum;
  } finally {
    sequence.dispose();
  }
}

describe.skipIf(!process.env.DECODEKIT_MEASURE)('judge-decoding measurement', () => {
  it('fit, calibrate and sweep', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = await loadModel('llama2xs');
    const encoded = prompts.map(p => ({
      ids: target.tokenizer.encode(p.prompt),
      maxTokens: p.max_tokens,
    }));
    const train = await collectJudgeSamples({
      draft,
      target,
      prompts: encoded.slice(0, 20).map(p => p.ids),
      tokens: 128,
    });
    const test = await collectJudgeSamples({
      draft,
      target,
      prompts: encoded.slice(20).map(p => p.ids),
      tokens: 128,
    });
    const head = fitJudgeHead(train, { l2: 1 });
    const positives = (xs: typeof train) => xs.filter(x => x.label === 1).length / xs.length;
    const auc = rocAuc(
      test.map(x => head.score(x.features)),
      test.map(x => x.label),
    );
    const lines = [
      `samples: train ${train.length} (${(100 * positives(train)).toFixed(1)}% acceptable), held-out ${test.length} (${(100 * positives(test)).toFixed(1)}%), held-out ROC AUC ${auc.toFixed(3)}`,
    ];
    if (process.env.DECODEKIT_WRITE_HEAD) {
      writeFileSync(
        resolve(__dirname, '__fixtures__/llama2xs-stories260K-judge.json'),
        JSON.stringify(head.toJSON()) + '\n',
      );
    }
    const heldOut = encoded.slice(20);
    const reference: number[][] = [];
    for (const p of heldOut)
      reference.push(
        (
          await createDecoder({ model: target }).generate(
            { tokens: p.ids },
            { maxTokens: p.maxTokens, temperature: 0 },
          )
        ).tokens,
      );
    for (const threshold of [Infinity, 0.95, 0.9, 0.8, 0.7, 0.5]) {
      for (let repeat = 0; repeat < 2; repeat++) {
        const strategy = judgeDecoding({ draft, judge: head, threshold, draftLength: 5 });
        let agree = 0;
        let total = 0;
        let nllSum = 0;
        let forwards = 0;
        let ms = 0;
        for (const [i, p] of heldOut.entries()) {
          const result = await createDecoder({ model: target })
            .use(strategy)
            .generate({ tokens: p.ids }, { maxTokens: p.maxTokens, temperature: 0 });
          ms += result.stats.decodeMs + result.stats.prefillMs;
          forwards += result.stats.forwardPasses - 1;
          const ref = reference[i];
          for (let j = 0; j < Math.min(ref.length, result.tokens.length); j++)
            if (ref[j] === result.tokens[j]) agree++;
          total += result.tokens.length;
          nllSum += await nll(target, p.ids, result.tokens);
        }
        if (repeat === 0) continue; // the first pass warms up
        const t = strategy.totals;
        lines.push(
          `threshold ${threshold}: acceptance ${((100 * (t.acceptedByTarget + t.acceptedByJudge)) / t.proposed).toFixed(1)}% ` +
            `(target ${((100 * t.acceptedByTarget) / t.proposed).toFixed(1)}%, judge ${((100 * t.acceptedByJudge) / t.proposed).toFixed(1)}%), ` +
            `tokens/target forward ${(total / forwards).toFixed(2)}, agreement with target greedy ${((100 * agree) / total).toFixed(1)}%, ` +
            `ppl ${Math.exp(nllSum / total).toFixed(2)}, ${(ms / total).toFixed(3)} ms/token`,
        );
      }
    }
    console.log(lines.join('\n'));
  }, 600_000);
});
