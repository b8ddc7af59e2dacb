import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import type { LlamaConfig } from './llama-config.js';
import { parsePruneSpec, pruneWeights } from './prune.js';
import { randomLlamaWeights } from './tiny-model.js';

const CONFIG: LlamaConfig = {
  vocabSize: 16,
  dim: 16,
  hiddenDim: 24,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  contextLength: 32,
  tiedEmbeddings: true,
};

describe('parsePruneSpec', () => {
  test.each([
    ['magnitude:0.5', { method: 'magnitude', sparsity: 0.5 }],
    ['magnitude:.25', { method: 'magnitude', sparsity: 0.25 }],
    ['2:4', { method: 'n:m', n: 2, m: 4 }],
    ['4:8', { method: 'n:m', n: 4, m: 8 }],
  ])('%s', (text, expected) => {
    expect(parsePruneSpec(text)).toEqual(expected);
  });

  test.each(['magnitude:1', 'magnitude:0', 'magnitude', '4:2', '0:4', 'wanda:0.5', ''])(
    '"%s" is an InvalidArgumentError naming the forms',
    text => {
      expect(() => parsePruneSpec(text)).toThrow(InvalidArgumentError);
      expect(() => parsePruneSpec(text)).toThrow(/magnitude:0\.5.*2:4/);
    },
  );
});

describe('pruneWeights', () => {
  const weights = randomLlamaWeights(CONFIG, 11);

  test('magnitude:0.5 zeroes the smaller half of every matrix and keeps the rest', () => {
    const { weights: pruned, report } = pruneWeights(
      CONFIG,
      weights,
      parsePruneSpec('magnitude:0.5'),
    );
    expect(report).toMatchObject({ spec: 'magnitude:0.5', sparsity: 0.5 });
    const size = CONFIG.hiddenDim * CONFIG.dim;
    for (let layer = 0; layer < CONFIG.numLayers; layer++) {
      const before = weights.w1.subarray(layer * size, (layer + 1) * size);
      const after = pruned.w1.subarray(layer * size, (layer + 1) * size);
      const kept = after.filter(value => value !== 0);
      expect(kept.length).toBe(size / 2);
      const smallestKept = Math.min(...Array.from(kept, Math.abs));
      for (let i = 0; i < size; i++) {
        if (after[i] === 0) expect(Math.abs(before[i])).toBeLessThanOrEqual(smallestKept);
        else expect(after[i]).toBe(before[i]);
      }
    }
    expect(pruned.tokenEmbedding).toBe(weights.tokenEmbedding); // never pruned
    expect(weights.w1.every(value => value !== 0)).toBe(true); // input untouched
  });

  test('2:4 keeps exactly the two largest of every four consecutive weights of a row', () => {
    const { weights: pruned, report } = pruneWeights(CONFIG, weights, parsePruneSpec('2:4'));
    expect(report.sparsity).toBe(0.5);
    for (const name of ['wq', 'wo', 'w2'] as const) {
      for (let start = 0; start < pruned[name].length; start += 4) {
        const group = Array.from(weights[name].subarray(start, start + 4));
        const after = Array.from(pruned[name].subarray(start, start + 4));
        const largest = [...group].sort((a, b) => Math.abs(b) - Math.abs(a)).slice(0, 2);
        expect(after.filter(value => value !== 0).sort()).toEqual(largest.sort());
      }
    }
  });

  test('N:M that does not divide an input width is an InvalidArgumentError', () => {
    expect(() => pruneWeights(CONFIG, weights, parsePruneSpec('3:5'))).toThrow(/divisible by 5/);
  });
});
