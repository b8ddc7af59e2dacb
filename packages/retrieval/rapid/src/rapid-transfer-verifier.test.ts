import { InvalidArgumentError, sampleFromProbabilities, seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { rapidTransferVerifier, retrievalAugmentedTarget } from './index.js';

describe('retrievalAugmentedTarget', () => {
  it('is p at m = 0 and follows softmax(log p − m·(p − q)⊙M) otherwise', () => {
    const p = Float32Array.from([0.5, 0.3, 0.2]);
    const q = Float32Array.from([0.9, 0.08, 0.02]);
    Array.from(retrievalAugmentedTarget(p, q, 0, 0.1)).forEach((v, i) =>
      expect(v).toBeCloseTo(p[i], 6),
    );
    // α = 0.1: M = [q ≥ 0.09] = [1, 0, 0]; only token 0 moves: log 0.5 + 0.4·2.
    const adjusted = retrievalAugmentedTarget(p, q, 2, 0.1);
    const w = [0.5 * Math.exp(0.8), 0.3, 0.2];
    const z = w[0] + w[1] + w[2];
    Array.from(adjusted).forEach((v, i) => expect(v).toBeCloseTo(w[i] / z, 6));
  });
});

describe('rapidTransferVerifier', () => {
  it('m = 0 is lossless; m > 0 moves the output towards the drafter (here exactly to p̃)', () => {
    expect(rapidTransferVerifier({ margin: 0 }).lossless).toBe(true);
    const verifier = rapidTransferVerifier({ margin: 1, alpha: 0.1 });
    expect(verifier.lossless).toBe(false);
    const p = Float32Array.from([0.5, 0.5]);
    const q = Float32Array.from([0.9, 0.1]);
    const random = seededRandom(5);
    let zeros = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const child = sampleFromProbabilities(q, random);
      const out = verifier.step({
        probabilities: p,
        q,
        childTokens: [child],
        greedy: false,
        random,
      });
      const token = typeof out === 'number' ? child : out.token;
      if (token === 0) zeros++;
    }
    // p̃(0) = e^0.4 / (e^0.4 + e^−0.4) ≈ 0.690; accept 0 w.p. p̃(0)/0.9, 1 always; rejections emit 1.
    expect(zeros / n).toBeCloseTo(Math.exp(0.4) / (Math.exp(0.4) + Math.exp(-0.4)), 1);
    expect(Math.abs(zeros / n - 0.69)).toBeLessThan(0.015);
  });

  it('falls back to exact verification at temperature 0 and validates options', () => {
    const verifier = rapidTransferVerifier({ margin: 5 });
    const p = Float32Array.from([0.2, 0.8]);
    expect(
      verifier.step({
        probabilities: p,
        q: Float32Array.from([1, 0]),
        childTokens: [0],
        greedy: true,
        random: seededRandom(1),
      }),
    ).toEqual({ token: 1 });
    expect(() => rapidTransferVerifier({ margin: -1 })).toThrow(InvalidArgumentError);
    expect(() => rapidTransferVerifier({ alpha: 2 })).toThrow(InvalidArgumentError);
  });
});
