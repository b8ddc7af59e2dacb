// Measures online-sd's acceptance rate over the 30-prompt stream bench/stories.jsonl (llama2xs drafting
// for stories260K), first 10 vs last 10 prompts, against the frozen draft (learningRate 0).
// Off by default (about a minute): DECODEKIT_MEASURE=1 npx vitest run <this file>
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { describe, it } from 'vitest';
import { onlineSpeculative } from './index.js';
import type { OnlineSpeculativeOptions } from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { id: string; prompt: string; max_tokens: number });

describe.skipIf(!process.env.DECODEKIT_MEASURE)('online-sd measurements', () => {
  it('acceptance over the bench/stories.jsonl stream', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = await loadModel('llama2xs');
    const configs: [string, Omit<OnlineSpeculativeOptions, 'model'>][] = [
      ['frozen (lr 0)', { learningRate: 0 }],
      ['bias lr 0.5', { learningRate: 0.5, correction: 'bias' }],
      ['bigram lr 0.5', { learningRate: 0.5 }],
      ['bigram lr 2', { learningRate: 2 }],
      ['bigram lr 0.1', { learningRate: 0.1 }],
    ];
    const rows: Record<string, unknown>[] = [];
    for (const temperature of (process.env.DECODEKIT_MEASURE_T ?? '0.8,0').split(',').map(Number)) {
      for (const [name, options] of configs) {
        const strategy = onlineSpeculative({ model: draft, ...options });
        let tokens = 0;
        let forwards = 0;
        for (const [index, prompt] of prompts.entries()) {
          const { stats } = await createDecoder({ model: target, tokenizer: target.tokenizer })
            .use(strategy)
            .generate(prompt.prompt, { maxTokens: prompt.max_tokens, temperature, seed: index });
          tokens += stats.generatedTokens;
          forwards += stats.forwardPasses;
        }
        const history = strategy.drafter.history;
        const rate = (from: number, to: number) => {
          const slice = history.slice(from, to);
          const proposed = slice.reduce((a, r) => a + r.proposed, 0);
          return +(slice.reduce((a, r) => a + r.accepted, 0) / proposed).toFixed(3);
        };
        rows.push({
          temperature,
          name,
          'accept 1-10': rate(0, 10),
          'accept 11-20': rate(10, 20),
          'accept 21-30': rate(20, 30),
          'accept all': rate(0, 30),
          tau: +(tokens / forwards).toFixed(2),
        });
      }
    }
    console.table(rows);
  }, 900_000);
});
