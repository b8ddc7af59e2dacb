// Measures dyspec against autoregressive decoding and sequential speculative sampling (draft-model) on
// bench/stories.jsonl. Off by default (about two minutes): DECODEKIT_MEASURE=1 npx vitest run <this file>
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, speculative } from '@decodekit/core';
import type { LoadedModel, Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, it } from 'vitest';
import { dyspec } from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { id: string; prompt: string; max_tokens: number });

async function measure(target: LoadedModel, make: (() => Strategy) | undefined, temperature: number) {
  let tokens = 0;
  let forwards = 0;
  let decodeMs = 0;
  let drafted = 0;
  let accepted = 0;
  for (const [index, prompt] of prompts.entries()) {
    let decoder = createDecoder({ model: target, tokenizer: target.tokenizer });
    if (make) decoder = decoder.use(make());
    const { stats } = await decoder.generate(prompt.prompt, { maxTokens: prompt.max_tokens, temperature, seed: index });
    tokens += stats.generatedTokens;
    forwards += stats.forwardPasses - 1;
    decodeMs += stats.decodeMs;
    drafted += stats.draftTokens ?? 0;
    accepted += stats.acceptedDraftTokens ?? 0;
  }
  return {
    tokPerS: Math.round((tokens / decodeMs) * 1000),
    tau: +(tokens / forwards).toFixed(2),
    acceptance: drafted ? +(accepted / drafted).toFixed(3) : undefined,
  };
}

describe.skipIf(!process.env.DECODEKIT_MEASURE)('dyspec measurements', () => {
  it('bench/stories.jsonl at T = 0 and 0.8', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = await loadModel('llama2xs');
    const self = await loadModel('karpathy/tinyllamas/stories260K');
    const rows: Record<string, unknown>[] = [];
    for (const temperature of [0, 0.8]) {
      const configs: [string, (() => Strategy) | undefined][] = [
        ['ar', undefined],
        ['sps (draft-model, llama2xs)', () => speculative({ drafter: draftModel({ model: draft, temperature }) })],
        ['dyspec Alg.1 budget 8 (llama2xs)', () => dyspec({ model: draft, budget: 8 })],
        ['dyspec Alg.1 budget 16 (llama2xs)', () => dyspec({ model: draft, budget: 16 })],
        ['dyspec Alg.1 budget 32 (llama2xs)', () => dyspec({ model: draft, budget: 32 })],
        ['dyspec Alg.2 t=1/32 budget 32 (llama2xs)', () => dyspec({ model: draft, variant: 'threshold', budget: 32 })],
        ['dyspec Alg.1 budget 16 (stories260K skip 3)', () => dyspec({ model: self, budget: 16, skipLayers: [3] })],
      ];
      for (const [name, make] of configs) rows.push({ temperature, name, ...(await measure(target, make, temperature)) });
    }
    console.table(rows);
  }, 900_000);
});
