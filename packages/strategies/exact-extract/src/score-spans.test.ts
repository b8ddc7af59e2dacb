import { InvalidArgumentError, mockModel } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { scoreSpans } from './index.js';

function toy(tree: boolean) {
  return mockModel({
    vocabSize: 7,
    eosTokenIds: [0],
    tree,
    logits(context) {
      let h = 2166136261;
      for (const t of context) h = Math.imul(h ^ (t + 3), 16777619) >>> 0;
      return Array.from(
        { length: 7 },
        (_, t) => ((Math.imul(h ^ (t * 7919), 2654435761) >>> 0) % 1000) / 200,
      );
    },
  });
}

describe('scoreSpans', () => {
  it('scores the same spans with tree batches and with one chain per start, in fewer forwards', async () => {
    const passage = [3, 4, 5, 6, 2, 3];
    const treeModel = toy(true);
    const chainModel = toy(false);
    const tree = await scoreSpans(treeModel, {
      prompt: [1, 2],
      passage,
      maxSpanLength: 4,
      maxRows: 12,
    });
    const chain = await scoreSpans(chainModel, { prompt: [1, 2], passage, maxSpanLength: 4 });
    expect(tree.map(span => [span.start, span.end])).toEqual(
      chain.map(span => [span.start, span.end]),
    );
    tree.forEach((span, i) => expect(span.logProbability).toBeCloseTo(chain[i].logProbability, 5));
    expect(treeModel.forwardCalls.length).toBeLessThan(chainModel.forwardCalls.length);
    // [3] repeats at start 5: one answer.
    expect(tree.filter(span => span.tokens.join() === '3')).toHaveLength(1);
  });

  it('length normalization ranks by log p / (length + 1)', async () => {
    const spans = await scoreSpans(toy(true), {
      prompt: [1],
      passage: [3, 4, 5],
      lengthNormalized: true,
    });
    for (const span of spans)
      expect(span.score).toBeCloseTo(span.logProbability / (span.tokens.length + 1), 10);
    const scores = spans.map(span => span.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it.each([
    [{ passage: [] }, /passage/],
    [{ passage: [99] }, /passage/],
    [{ passage: [3], maxSpanLength: 0 }, /maxSpanLength/],
    [{ passage: [3], terminatorTokenIds: [] }, /terminatorTokenIds/],
  ])('validates %j', async (options, message) => {
    await expect(scoreSpans(toy(true), { prompt: [1], ...options })).rejects.toThrow(message);
    await expect(scoreSpans(toy(true), { prompt: [1], ...options })).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
  });
});
