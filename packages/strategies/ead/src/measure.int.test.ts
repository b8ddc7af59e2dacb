// Sweeps the EAD threshold on llama2xs (small) → stories260K (large) over bench/stories.jsonl at T = 0 and
// prints, per τ: the large model's share of tokens, agreement with the large model's greedy output, the
// output's perplexity under the large model and the decode time against large-model greedy. Off by default:
// DECODEKIT_MEASURE=1 npx vitest run packages/strategies/ead/src/measure.int.test.ts
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, type CausalLM, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { describe, it } from 'vitest';
import { entropyAdaptiveDecoding } from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { prompt: string; max_tokens: number });

/** Mean negative log-likelihood (nats) of `output` after `prompt` under `model`, raw logits. */
async function nll(
  model: CausalLM,
  prompt: number[],
  output: number[],
): Promise<{ sum: number; count: number }> {
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
    return { sum, count: output.length };
  } finally {
    sequence.dispose();
  }
}

describe.skipIf(!process.env.DECODEKIT_MEASURE)('ead measurement', () => {
  it('threshold sweep', async () => {
    const large: LoadedModel = await loadModel('karpathy/tinyllamas/stories260K');
    const small: LoadedModel = await loadModel('llama2xs');
    const encoded = prompts.map(p => ({
      ids: large.tokenizer.encode(p.prompt),
      maxTokens: p.max_tokens,
    }));
    const gen = async (model: CausalLM, strategy?: ReturnType<typeof entropyAdaptiveDecoding>) => {
      const outputs: number[][] = [];
      const startMs = performance.now();
      let decoder = createDecoder({ model });
      if (strategy) decoder = decoder.use(strategy);
      for (const p of encoded)
        outputs.push(
          (await decoder.generate({ tokens: p.ids }, { maxTokens: p.maxTokens, temperature: 0 }))
            .tokens,
        );
      return { outputs, ms: performance.now() - startMs };
    };
    await gen(large); // warm-up
    const reference = await gen(large);
    const smallOnly = await gen(small);
    const rows: string[] = [];
    const score = async (outputs: number[][]) => {
      let agree = 0;
      let total = 0;
      let prefix = 0;
      let sum = 0;
      let count = 0;
      for (const [i, out] of outputs.entries()) {
        const ref = reference.outputs[i];
        const n = Math.min(out.length, ref.length);
        let first = n;
        for (let j = 0; j < n; j++) {
          if (out[j] === ref[j]) agree++;
          else if (first === n) first = j;
        }
        total += ref.length;
        prefix += first;
        const r = await nll(large, encoded[i].ids, out);
        sum += r.sum;
        count += r.count;
      }
      return {
        agreement: agree / total,
        prefix: prefix / outputs.length,
        ppl: Math.exp(sum / count),
        tokens: count,
      };
    };
    const base = await score(reference.outputs);
    rows.push(
      `large greedy: ppl ${base.ppl.toFixed(2)}, ${(reference.ms / base.tokens).toFixed(3)} ms/token`,
    );
    const s = await score(smallOnly.outputs);
    rows.push(
      `small greedy: agreement ${(s.agreement * 100).toFixed(1)}%, ppl ${s.ppl.toFixed(2)}, ${(smallOnly.ms / s.tokens).toFixed(3)} ms/token`,
    );
    for (const threshold of [-Infinity, 0.5, 1, 1.5, 2, 2.5, 3, Infinity]) {
      const strategy = entropyAdaptiveDecoding({ small, threshold });
      const run = await gen(large, strategy);
      const m = await score(run.outputs);
      const t = strategy.totals;
      rows.push(
        `τ=${threshold}: large share ${((100 * t.largeTokens) / (t.largeTokens + t.smallTokens)).toFixed(1)}%, ` +
          `switches ${t.switches}, agreement ${(m.agreement * 100).toFixed(1)}%, mean matching prefix ${m.prefix.toFixed(1)}, ` +
          `ppl ${m.ppl.toFixed(2)}, ${(run.ms / m.tokens).toFixed(3)} ms/token (${(reference.ms / run.ms).toFixed(2)}x vs large greedy)`,
      );
    }
    console.log(rows.join('\n'));
  }, 600_000);
});
