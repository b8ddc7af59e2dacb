import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';
import { runFeatureDrafterChecks } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  applyRope,
  chimera,
  headFromLmHead,
  parseChimeraWeights,
  randomChimeraWeights,
  serializeChimeraWeights,
} from './index.js';

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomChimeraWeights({ vocabSize: 12, hiddenSize: 4, seed: 3 });
    const parsed = parseChimeraWeights(serializeChimeraWeights(weights));
    expect(parsed.heads).toBe(3);
    expect(parsed.window).toBe(8);
    expect(Array.from(parsed.tensors['tri.out'])).toEqual(Array.from(weights.tensors['tri.out']));
    expect(Array.from(parsed.tensors['head.2'])).toEqual(Array.from(weights.tensors['head.2']));
  });
  it('rejects other files, bad shapes and bad options with typed errors', () => {
    expect(() => parseChimeraWeights('{"format":"decodekit-eagle/1"}')).toThrow(ModelFormatError);
    const weights = randomChimeraWeights({ vocabSize: 12, hiddenSize: 4 });
    expect(() => chimera({ weights: { ...weights, innerSize: 5 } })).toThrow(
      /mlp.gate must hold 5×4/,
    );
    expect(() => chimera({ weights: { ...weights, attentionHeads: 4 } })).toThrow(/even size/);
    expect(() => chimera({ weights, topK: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('building blocks', () => {
  it('initialises heads as [W_lm, W_lm]: at init, head([h; h]) = 2 · LM head(h)', () => {
    const lmHead = Float32Array.of(1, 2, 3, 4, 5, 6); // vocab 3, hidden 2
    expect(Array.from(headFromLmHead(lmHead, { vocabSize: 3, hiddenSize: 2 }))).toEqual([
      1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6,
    ]);
  });
  it('rotates pairs (i, i + half) of each head by position · base^(-2i/headSize)', () => {
    const x = applyRope(Float32Array.of(1, 0, 0, 1, 2, 0, 0, 0), 1, 2, 10_000);
    // headSize 4: pair (0, 2) turns by 1 radian, pair (1, 3) by 1 / 10000^(2/4) = 0.01; head 1 likewise.
    expect(x[0]).toBeCloseTo(Math.cos(1), 6);
    expect(x[2]).toBeCloseTo(Math.sin(1), 6);
    expect(x[1]).toBeCloseTo(-Math.sin(1e-2), 6);
    expect(x[3]).toBeCloseTo(Math.cos(1e-2), 6);
    expect(x[4]).toBeCloseTo(2 * Math.cos(1), 6);
    expect(Array.from(applyRope(Float32Array.of(1, 2, 3, 4), 0, 1))).toEqual([1, 2, 3, 4]);
  });
});

runFeatureDrafterChecks({
  name: 'chimera',
  drafter: options =>
    chimera({
      weights: randomChimeraWeights({ vocabSize: 16, hiddenSize: 4, seed: 1, scale: 0.3 }),
      ...options,
    }),
});
