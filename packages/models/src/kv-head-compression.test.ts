import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import { compressKvHeads } from './kv-head-compression.js';
import type { LlamaConfig, LlamaWeights } from './llama-config.js';
import { llamaReference, sampleReferenceSequences } from './llama-reference.js';
import { readLlama2cCheckpoint } from './llama2c.js';
import { maxAbsDiff, modelBytes } from './ort-test-utils.js';
import { seededRandom } from './seeded-random.js';
import { randomLlamaWeights } from './tiny-model.js';

const CONFIG: LlamaConfig = {
  vocabSize: 32,
  dim: 32,
  hiddenDim: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 4,
  contextLength: 64,
  tiedEmbeddings: true,
};

function logitsOf(config: LlamaConfig, weights: LlamaWeights, tokens: readonly number[]) {
  const reference = llamaReference(config, weights);
  return tokens.flatMap(token => Array.from(reference.step(token)));
}

const TOKENS = [1, 5, 9, 3, 3, 17, 30, 2, 11, 8, 1, 4];

/**
 * Uniformly random token sequences: a random tied-embedding model mostly repeats its last token when it
 * samples itself, which would calibrate on a rank-1 cache.
 */
function randomSequences(seed: number, sequences = 4, length = 48): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: sequences }, () =>
    Array.from({ length }, () => Math.floor(random.next() * CONFIG.vocabSize)),
  );
}

describe('compressKvHeads', () => {
  test('keeping every KV head is the identity (complete bases)', () => {
    const weights = randomLlamaWeights(CONFIG, 3);
    const { config, weights: converted } = compressKvHeads(CONFIG, weights, {
      kvHeads: 4,
      calibration: randomSequences(1),
    });
    expect(config.numKvHeads).toBe(4);
    expect(
      maxAbsDiff(logitsOf(config, converted, TOKENS), logitsOf(CONFIG, weights, TOKENS)),
    ).toBeLessThan(1e-4);
  });

  test('heads that are copies up to a per-pair rotation merge exactly, at every position (RoPE)', () => {
    // Head 1 = head 0 rotated per pair by a fixed angle (and scaled), head 3 = head 2 likewise: each group's
    // key and value caches have rank headDim in the RoPE-commuting sense, so 4 → 2 loses nothing.
    const weights = randomLlamaWeights(CONFIG, 5);
    const headDim = CONFIG.dim / CONFIG.numHeads;
    const wk = Float32Array.from(weights.wk);
    const wv = Float32Array.from(weights.wv);
    const kvDim = CONFIG.numKvHeads * headDim;
    for (let layer = 0; layer < CONFIG.numLayers; layer++) {
      for (const [source, target, angle, scale] of [
        [0, 1, 0.7, 1.3],
        [2, 3, -1.1, 0.6],
      ]) {
        for (let pair = 0; pair < headDim / 2; pair++) {
          const from = (layer * kvDim + source * headDim + 2 * pair) * CONFIG.dim;
          const to = (layer * kvDim + target * headDim + 2 * pair) * CONFIG.dim;
          for (let i = 0; i < CONFIG.dim; i++) {
            const a = weights.wk[from + i];
            const b = weights.wk[from + CONFIG.dim + i];
            wk[to + i] = scale * (Math.cos(angle) * a - Math.sin(angle) * b);
            wk[to + CONFIG.dim + i] = scale * (Math.sin(angle) * a + Math.cos(angle) * b);
          }
        }
        for (let r = 0; r < headDim; r++) {
          const from = (layer * kvDim + source * headDim + r) * CONFIG.dim;
          const to = (layer * kvDim + target * headDim + ((r + 3) % headDim)) * CONFIG.dim;
          for (let i = 0; i < CONFIG.dim; i++) wv[to + i] = -scale * weights.wv[from + i];
        }
      }
    }
    const redundant = { ...weights, wk, wv };
    const {
      config,
      weights: converted,
      report,
    } = compressKvHeads(CONFIG, redundant, {
      kvHeads: 2,
      calibration: randomSequences(2),
    });
    expect(config.numKvHeads).toBe(2);
    expect(converted.wk.length).toBe(CONFIG.numLayers * 2 * headDim * CONFIG.dim);
    for (const layer of report.layers) {
      expect(layer.keyEnergy).toBeCloseTo(1, 5);
      expect(layer.valueEnergy).toBeCloseTo(1, 5);
    }
    expect(
      maxAbsDiff(logitsOf(config, converted, TOKENS), logitsOf(CONFIG, redundant, TOKENS)),
    ).toBeLessThan(1e-4);
  });

  test('random heads lose energy when merged, and merging to one keeps less than to two', () => {
    const weights = randomLlamaWeights(CONFIG, 7);
    const two = compressKvHeads(CONFIG, weights, { kvHeads: 2, calibration: randomSequences(3) });
    const one = compressKvHeads(CONFIG, weights, { kvHeads: 1, calibration: randomSequences(3) });
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const valueTwo = mean(two.report.layers.map(layer => layer.valueEnergy));
    const valueOne = mean(one.report.layers.map(layer => layer.valueEnergy));
    expect(valueTwo).toBeLessThan(0.999);
    expect(valueOne).toBeLessThan(valueTwo);
    expect(one.config.numKvHeads).toBe(1);
  });

  test.each([0, 3, 1.5, 8])('kvHeads %s is an InvalidArgumentError', kvHeads => {
    const weights = randomLlamaWeights(CONFIG, 1);
    expect(() => compressKvHeads(CONFIG, weights, { kvHeads, calibration: [[1, 2]] })).toThrow(
      InvalidArgumentError,
    );
  });

  test('empty calibration is an InvalidArgumentError', () => {
    const weights = randomLlamaWeights(CONFIG, 1);
    expect(() => compressKvHeads(CONFIG, weights, { kvHeads: 2, calibration: [] })).toThrow(
      /at least one token/,
    );
  });
});

describe('llamaReference', () => {
  test('reproduces llama2.c on stories260K (golden logits)', async () => {
    const { config, weights } = readLlama2cCheckpoint(
      modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin'),
    );
    const { golden } = await import('./ort-test-utils.js');
    const expected = golden<{ logits: number[][] }>(
      'golden_stories260K_logits_once_upon_a_time.json',
    ).logits.flat();
    expect(maxAbsDiff(logitsOf(config, weights, [1, 403, 407, 261, 378]), expected)).toBeLessThan(
      1e-4,
    );
    const sampled = sampleReferenceSequences(config, weights, { sequences: 1, length: 8, seed: 4 });
    expect(sampled).toEqual(
      sampleReferenceSequences(config, weights, { sequences: 1, length: 8, seed: 4 }),
    );
  });
});
