// Measures rsd against autoregressive decoding and sequential speculative sampling (draft-model) on
// bench/stories.jsonl. Off by default (about two minutes): DECODEKIT_MEASURE=1 npx vitest run <this file>
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, speculative } from '@decodekit/core';
import type { LoadedModel, Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, it } from 'vitest';
import { rsd } from './index.js';

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

describe.skipIf(!process.env.DECODEKIT_MEASURE)('rsd measurements', () => {
  it('bench/stories.jsonl at T = 0 and 0.8', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = await loadModel('llama2xs');
    const self = await loadModel('karpathy/tinyllamas/stories260K');
    const rows: Record<string, unknown>[] = [];
    for (const temperature of [0, 0.8]) {
      const configs: [string, (() => Strategy) | undefined][] = [
        ['ar', undefined],
        ['sps (draft-model, llama2xs)', () => speculative({ drafter: draftModel({ model: draft, temperature }) })],
        ['rsd-c b=2 d=3, 14 rows (llama2xs)', () => rsd({ model: draft, branching: 2, depth: 3 })],
        ['rsd-c b=3, budget 16 → 12 rows (llama2xs)', () => rsd({ model: draft, branching: 3, budget: 16 })],
        ['rsd-s W=4 L=4, 16 rows (llama2xs)', () => rsd({ model: draft, variant: 'beam', beamWidth: 4, depth: 4 })],
        ['rsd-s W=2 L=6, 12 rows (llama2xs)', () => rsd({ model: draft, variant: 'beam', beamWidth: 2, depth: 6 })],
        ['rsd-c b=2 d=3 (stories260K skip 3)', () => rsd({ model: self, branching: 2, depth: 3, skipLayers: [3] })],
      ];
      for (const [name, make] of configs) rows.push({ temperature, name, ...(await measure(target, make, temperature)) });
    }
    console.table(rows);
  }, 900_000);
});
