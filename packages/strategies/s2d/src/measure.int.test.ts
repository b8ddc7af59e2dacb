// Measures per-target acceptance of one shared draft over nested stories260K sub-models on
// bench/stories.jsonl. Off by default (about a minute): DECODEKIT_MEASURE=1 npx vitest run <this file>
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder } from '@decodekit/core';
import type { CausalLM } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { describe, it } from 'vitest';
import { nestedSubModel, s2d } from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { id: string; prompt: string; max_tokens: number });

describe.skipIf(!process.env.DECODEKIT_MEASURE)('s2d measurements', () => {
  it('per-target acceptance on bench/stories.jsonl', async () => {
    const base = await loadModel('karpathy/tinyllamas/stories260K');
    const llama2xs = await loadModel('llama2xs');
    const targets = [3, 4, 5].map(layers => nestedSubModel(base, layers));
    const drafts: [string, CausalLM, number[] | undefined][] = [
      ['stories260K first 2 layers', base, [2, 3, 4]],
      ['llama2xs', llama2xs, undefined],
    ];
    const rows: Record<string, unknown>[] = [];
    for (const temperature of [0, 0.8]) {
      for (const [draftName, draft, draftSkipLayers] of drafts) {
        const family = s2d({ draft, draftSkipLayers });
        const tau = new Map<string, { tokens: number; forwards: number; ms: number }>();
        for (const target of targets) {
          const entry = { tokens: 0, forwards: 0, ms: 0 };
          for (const [index, prompt] of prompts.entries()) {
            const { stats } = await createDecoder({ model: target, tokenizer: base.tokenizer })
              .use(family.strategy())
              .generate(prompt.prompt, { maxTokens: prompt.max_tokens, temperature, seed: index });
            entry.tokens += stats.generatedTokens;
            entry.forwards += stats.forwardPasses;
          }
          tau.set(target.info.name, entry);
        }
        for (const [name, entry] of family.stats) {
          const t = tau.get(name)!;
          rows.push({
            temperature,
            draft: draftName,
            target: name,
            acceptance: +(entry.accepted / entry.proposed).toFixed(3),
            tau: +(t.tokens / t.forwards).toFixed(2),
          });
        }
      }
    }
    console.table(rows);
  }, 900_000);
});
