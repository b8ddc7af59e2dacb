import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder } from '@decodekit/core';
import { onlineDistiller } from '@decodekit/train';
import { afterAll, describe, expect, it } from 'vitest';
import { llama2xsCheckpoint, llamaDraftLoader } from '../scripts/llama-draft.js';
import { onlineSd } from './index.js';

// The real loop: llama2xs drafts for stories260K, its weights are distilled with tfjs on the rejected
// positions every 2 generations, rebuilt with our graph builder and hot-swapped in.
const PROMPTS = [
  'Once upon a time, there was a little dog named Max.',
  'Tom had a red ball. He liked to play with it every day.',
  'Lily wanted to bake a cake for her friend.',
  'There was a big tree in the garden. A small bird lived in it.',
  'One day, a girl named Sue went to the park with her mom.',
];

describe('online-sd with real draft distillation', () => {
  const target = loadModel('karpathy/tinyllamas/stories260K');
  const base = llama2xsCheckpoint();
  const distiller = onlineDistiller({
    config: base.config,
    weights: base.weights,
    load: llamaDraftLoader(base, 'llama2xs-online'),
    learningRate: 1e-3,
    stepsPerUpdate: 2,
  });
  afterAll(async () => {
    distiller.dispose();
    await (await target).dispose();
  });

  it.each([0, 0.8])(
    'swaps distilled drafts in and stays exact across the swaps (T = %s)',
    async temperature => {
      const model = await target;
      const draft = await loadModel('llama2xs');
      const strategy = onlineSd({ model: draft, updater: distiller, updateInterval: 2 });
      const versions: string[] = [];
      for (const [index, prompt] of PROMPTS.entries()) {
        const options = { maxTokens: 48, temperature, seed: index };
        const reference = await createDecoder({ model, tokenizer: model.tokenizer }).generate(
          prompt,
          options,
        );
        const online = await createDecoder({ model, tokenizer: model.tokenizer })
          .use(strategy)
          .generate(prompt, options);
        versions.push(strategy.drafter.model.info.name);
        // O-greedy at T = 0; at T = 0.8 speculative sampling is exact in distribution, not per seed, so
        // only the greedy case compares tokens.
        if (temperature === 0) expect(online.tokens).toEqual(reference.tokens);
      }
      // Generations 3 and 5 ran on the drafts of updates after generations 2 and 4.
      expect(versions[0]).toBe('llama2xs');
      expect(versions[2]).toMatch(/^llama2xs-online@v\d+$/);
      expect(versions[4]).not.toBe(versions[2]);
      expect(strategy.drafter.updates).toBe(2);
      const records = distiller.records.slice(-2);
      for (const record of records) {
        expect(record.positions).toBeGreaterThan(0);
        expect(record.lossAfter).toBeLessThan(record.lossBefore);
      }
      await strategy.drafter.dispose();
      await draft.dispose();
    },
    120_000,
  );
});
