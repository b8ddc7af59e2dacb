import { createDecoder, mockModel } from '@decodekit/core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { continuationNll, evaluate, writeEvalReports } from './index.js';

// A model that always gives token 1 probability 1/2 and the 3 others 1/6 each.
const model = mockModel({ vocabSize: 4, logits: () => [0, Math.log(3), 0, 0] });

describe('evaluate', () => {
  it('perplexity is exp of the mean NLL of the generated tokens', async () => {
    const { nll, tokens } = await continuationNll(model, [0], [1, 2]);
    expect(tokens).toBe(2);
    expect(nll).toBeCloseTo(Math.log(2) + Math.log(6), 5);
  });

  it('reports every metric per strategy and writes eval.json and eval.md', async () => {
    const fixed = (name: string, text: string, tokens: number[]) => ({
      name,
      generate: async () => ({ text, tokens, promptTokens: [0] }),
    });
    const greedy = createDecoder({ model });
    const result = await evaluate({
      strategies: [
        fixed('loop', 'a b c d a b c d a b c d', [1, 1, 1]),
        fixed('varied', 'the cat sat on a mat', [2, 3]),
        {
          name: 'decoder',
          generate: async (_prompt, { maxTokens }) =>
            greedy.generate({ tokens: [0] }, { maxTokens }),
        },
      ],
      prompts: ['x', { id: 'p2', prompt: 'y' }],
      scoringModel: model,
      maxTokens: 3,
    });
    const [loop, varied, decoder] = result.summary;
    expect(loop.perplexity).toBeCloseTo(2, 5);
    expect(varied.perplexity).toBeCloseTo(6, 5);
    expect(decoder.mean_tokens).toBe(3);
    expect(loop.repetition_rate).toBeGreaterThan(varied.repetition_rate);
    expect(loop.self_bleu).toBeCloseTo(1, 5); // the same text for both prompts
    expect(varied.distinct_1).toBeCloseTo(6 / 12, 10);
    const dir = mkdtempSync(join(tmpdir(), 'eval-'));
    await writeEvalReports(result, dir);
    const json = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8'));
    expect(json.summary.map((row: { strategy: string }) => row.strategy)).toEqual([
      'loop',
      'varied',
      'decoder',
    ]);
    expect(Object.keys(json.summary[0])).toEqual(
      expect.arrayContaining([
        'strategy',
        'perplexity',
        'distinct_1',
        'distinct_2',
        'distinct_3',
        'self_bleu',
        'repetition_rate',
      ]),
    );
    expect(readFileSync(join(dir, 'eval.md'), 'utf8')).toContain('| loop | 2.00 |');
  });

  it('rejects empty inputs and duplicate names', async () => {
    const strategy = { name: 's', generate: async () => ({ text: '', tokens: [] }) };
    await expect(
      evaluate({ strategies: [], prompts: ['x'], scoringModel: model, maxTokens: 1 }),
    ).rejects.toThrow(/strategies/);
    await expect(
      evaluate({ strategies: [strategy], prompts: [], scoringModel: model, maxTokens: 1 }),
    ).rejects.toThrow(/prompts/);
    await expect(
      evaluate({
        strategies: [strategy, strategy],
        prompts: ['x'],
        scoringModel: model,
        maxTokens: 1,
      }),
    ).rejects.toThrow(/named/);
    await expect(
      evaluate({ strategies: [strategy], prompts: ['x'], scoringModel: model, maxTokens: 0 }),
    ).rejects.toThrow(/maxTokens/);
  });
});
