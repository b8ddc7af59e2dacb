import {
  createDecoder,
  InvalidArgumentError,
  argmax,
  speculative,
  VocabMismatchError,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { assert, describe, expect, it } from 'vitest';
import { easySpec, layerParallelLlama } from './index.js';
import { randomLlama } from './random-llama.test-util.js';

const { config, weights } = randomLlama(7, 16);
const tokens = [1, 5, 2, 9, 9, 3, 0, 4, 7, 12];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('layerParallelLlama', () => {
  it('token-by-token and one-shot exact forwards agree (the KV cache is consistent)', () => {
    const oneShot = layerParallelLlama(config, weights).forward(tokens);
    const stepwise = layerParallelLlama(config, weights);
    const rows = tokens.map(token => stepwise.forward([token]));
    rows.forEach((row, i) =>
      expect(maxAbsDiff(row, oneShot.subarray(i * 16, (i + 1) * 16))).toBeLessThan(1e-5),
    );
  });

  it('layer-parallel groups change the logits; group size 1 is exact', () => {
    const exact = layerParallelLlama(config, weights).forward(tokens);
    expect(maxAbsDiff(layerParallelLlama(config, weights).forward(tokens, 1), exact)).toBe(0);
    for (const groupSize of [2, 4])
      expect(
        maxAbsDiff(layerParallelLlama(config, weights).forward(tokens, groupSize), exact),
      ).toBeGreaterThan(1e-3);
  });

  it('calibration: truncating fuzzy rows and recomputing them exactly restores the exact model', () => {
    const exact = layerParallelLlama(config, weights).forward(tokens);
    const model = layerParallelLlama(config, weights);
    model.forward(tokens.slice(0, 4));
    const fuzzy = model.forward(tokens.slice(4, 8), 4); // fuzzy KV rows at positions 4..7
    expect(maxAbsDiff(fuzzy, exact.subarray(4 * 16, 8 * 16))).toBeGreaterThan(1e-3);
    model.truncate(4);
    const calibrated = model.forward(tokens.slice(4));
    expect(maxAbsDiff(calibrated, exact.subarray(4 * 16))).toBeLessThan(1e-5);
  });

  it('validates', () => {
    expect(() => layerParallelLlama({ ...config, numHeads: 3 }, weights)).toThrow(
      InvalidArgumentError,
    );
    expect(() => layerParallelLlama(config, { ...weights, wq: new Float32Array(3) })).toThrow(
      InvalidArgumentError,
    );
    expect(() => layerParallelLlama(config, weights).forward([99])).toThrow(InvalidArgumentError);
    expect(() => layerParallelLlama(config, weights).forward([1], 0)).toThrow(InvalidArgumentError);
  });
});

describe('easySpec drafter', () => {
  const target = toyModel({ vocabSize: 16, seed: 3, copyBias: 2 });

  it("group size 1 drafts the exact model's greedy chain; the first draft token is always exact", async () => {
    for (const groupSize of [1, 4]) {
      const drafter = easySpec({ config, weights, groupSize, draftLength: 4 });
      await drafter.begin?.({
        tokens,
        model: target,
        random: { next: () => 0.5, clone: () => ({}) as never },
        temperature: 0,
      });
      const tree = await drafter.propose({
        tokens,
        promptLength: tokens.length,
        maxNodes: 8,
        remaining: 10,
        treeCapable: true,
        greedy: true,
      });
      assert(tree, 'the drafter proposes a tree');
      const reference = layerParallelLlama(config, weights);
      let logits = reference.forward(tokens).subarray((tokens.length - 1) * 16);
      const chain: number[] = [];
      for (let i = 0; i < 4; i++) {
        chain.push(argmax(logits));
        logits = reference.forward([chain[i]]);
      }
      expect(tree.tokens[0]).toBe(chain[0]);
      if (groupSize === 1) expect(Array.from(tree.tokens)).toEqual(chain);
      expect(drafter.exactPositions).toBe(tokens.length);
      expect(drafter.fuzzyPositions).toBe(3);
    }
  });

  it('recalibrates the accepted tokens: a second step re-feeds them exactly', async () => {
    const drafter = easySpec({ config, weights, groupSize: 2, draftLength: 4 });
    const decoder = createDecoder({ model: target }).use(speculative({ drafter, adaptive: false }));
    const { tokens: out } = await decoder.generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 30, temperature: 0 },
    );
    expect(out).toEqual(
      (
        await createDecoder({ model: target }).generate(
          { tokens: [1, 2, 3] },
          { maxTokens: 30, temperature: 0 },
        )
      ).tokens,
    );
    // Every emitted token and the prompt went through an exact calibration pass exactly once, except the tail.
    expect(drafter.exactPositions).toBeLessThanOrEqual(3 + 30);
    expect(drafter.exactPositions).toBeGreaterThan(3 + 30 - 6);
    expect(drafter.fuzzyPositions).toBeGreaterThan(0);
  });

  it('validates options and the vocabulary', async () => {
    expect(() => easySpec({ config, weights, groupSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => easySpec({ config, weights, draftLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => easySpec({ config, weights, temperature: -1 })).toThrow(InvalidArgumentError);
    const other = toyModel({ vocabSize: 8, seed: 1 });
    await expect(
      createDecoder({ model: other })
        .use(speculative({ drafter: easySpec({ config, weights }) }))
        .generate({ tokens: [1] }, { maxTokens: 3 }),
    ).rejects.toThrow(VocabMismatchError);
  });
});
