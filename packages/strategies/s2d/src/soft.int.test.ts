import { createDecoder, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOFT_CHECKPOINT, nestedExitFolders, stories260KFiles } from '../scripts/nested-exits.js';
import { s2d } from './index.js';

// The committed Sorted Fine-Tuned stories260K (scripts/soft.measure.ts): its exits as model folders of their own.
const prompts = [
  'Once upon a time, there was a little dog named Max.',
  'Tom had a red ball. He liked to play with it every day.',
  'Lily wanted to bake a cake for her mom.',
];
const MAX_TOKENS = 48;
let original: LoadedModel;
let originalExit2: LoadedModel;
let softExits: LoadedModel[];

beforeAll(async () => {
  const files = stories260KFiles();
  original = await loadModel('karpathy/tinyllamas/stories260K');
  const [before2] = await nestedExitFolders(files.checkpoint, files.tokenizer, [2], 'stories260K');
  originalExit2 = await loadModel(before2);
  softExits = await Promise.all(
    (await nestedExitFolders(SOFT_CHECKPOINT, files.tokenizer, [2, 3, 5], 'stories260K-soft')).map(
      folder => loadModel(folder),
    ),
  );
});
afterAll(async () => {
  for (const model of [original, originalExit2, ...softExits]) await model?.dispose();
});

async function acceptance(exits: LoadedModel[], target: LoadedModel, threshold = 0) {
  const family = s2d({ exits, threshold });
  for (const prompt of prompts) {
    const decoded = await createDecoder({ model: target, tokenizer: target.tokenizer })
      .use(family.strategy())
      .generate(prompt, { maxTokens: MAX_TOKENS, temperature: 0 });
    const reference = await createDecoder({ model: target, tokenizer: target.tokenizer }).generate(
      prompt,
      { maxTokens: MAX_TOKENS, temperature: 0 },
    );
    expect(decoded.tokens).toEqual(reference.tokens);
  }
  const stats = family.stats.get(target.info.name);
  expect(stats).toBeDefined();
  return stats ? stats.accepted / stats.proposed : Number.NaN;
}

describe('the SoFT draft of stories260K', () => {
  it('its 2-layer exit drafts several times better for its full model than the plain 2-layer truncation does', async () => {
    const before = await acceptance([originalExit2], original);
    const after = await acceptance([softExits[0]], softExits[2]);
    // Measured on these 3 prompts: 0.015 before, 0.074 after (the hard-label SoFT weights before: 0.094;
    // scripts/s2d.measure.ts has the full table).
    expect(after).toBeGreaterThan(Math.max(3 * before, before + 0.05));
  });

  it('one adaptive multi-exit draft serves two targets exactly: the SoFT model and the original', async () => {
    const [exit2, exit3, soft] = softExits;
    const family = s2d({ exits: [exit2, exit3], threshold: 0.6 });
    const targets = [soft, original];
    const runs = await Promise.all(
      targets.map(model =>
        createDecoder({ model, tokenizer: model.tokenizer })
          .use(family.strategy())
          .generate(prompts[0], { maxTokens: MAX_TOKENS, temperature: 0 }),
      ),
    );
    for (const [i, model] of targets.entries()) {
      const reference = await createDecoder({ model, tokenizer: model.tokenizer }).generate(
        prompts[0],
        { maxTokens: MAX_TOKENS, temperature: 0 },
      );
      expect(runs[i].tokens).toEqual(reference.tokens);
      const stats = family.stats.get(model.info.name);
      expect(stats?.exitProposed.every(count => count > 0)).toBe(true);
      expect(stats?.accepted).toBeGreaterThan(0);
    }
  });
});
