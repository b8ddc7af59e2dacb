import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LUD_PLACEHOLDER_TOKEN_ID, ludModelFolder } from '../scripts/lud-model.js';
import { lud } from './index.js';

let base: LoadedModel;
let tuned: LoadedModel;
let openings: number[][];

beforeAll(async () => {
  base = await loadModel('karpathy/tinyllamas/stories260K');
  tuned = await loadModel(ludModelFolder());
  // Held-out openings of the training distribution: BOS + 8 tokens sampled at T = 1 (training used seeds 0..399).
  const bos = base.tokenizer.encode('');
  openings = [];
  for (const seed of [100_000, 100_001, 100_002]) {
    const { tokens } = await createDecoder({ model: base }).generate(
      { tokens: bos },
      { maxTokens: 8, temperature: 1, seed },
    );
    openings.push([...bos, ...tokens]);
  }
});
afterAll(async () => {
  await base?.dispose();
  await tuned?.dispose();
});

/** Tokens per forward of LUD at `threshold` over the openings (greedy, 40 tokens each). */
async function tokensPerStep(model: LoadedModel, threshold: number): Promise<number> {
  const strategy = lud({
    threshold,
    placeholders: 3,
    placeholderTokenId: LUD_PLACEHOLDER_TOKEN_ID,
  });
  let tokens = 0;
  for (const opening of openings) {
    const result = await createDecoder({ model })
      .use(strategy)
      .generate({ tokens: opening }, { maxTokens: 40, temperature: 0 });
    tokens += result.tokens.length;
  }
  return tokens / strategy.counters.steps;
}

describe('the LUD-fine-tuned stories260K', () => {
  it('fills placeholders confidently enough to emit about two tokens per step, where the base model cannot', async () => {
    // Measured (scripts/lud.measure.ts, 30 openings × 48 tokens): 2.07 tuned, 1.02 base at threshold 0.9.
    const tunedRate = await tokensPerStep(tuned, 0.9);
    const baseRate = await tokensPerStep(base, 0.9);
    expect(tunedRate).toBeGreaterThan(1.5);
    expect(baseRate).toBeLessThan(1.2);
  });
});
