import {
  createDecoder,
  mockModel,
  seededRandom,
  InvalidArgumentError,
  ModelFormatError,
  UnsupportedCapabilityError,
} from '@decodekit/core';
import { withLogitHidden } from './__fixtures__/logit-hidden.js';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  evaluateAcceptanceHead,
  fitLogisticRegression,
  parseAcceptanceHead,
  rocAuc,
  specdecPP,
  type AcceptanceHead,
  type AcceptanceSample,
} from './index.js';

function gaussian(random: { next(): number }): number {
  const u = Math.max(random.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

describe('fitLogisticRegression', () => {
  const trueWeights = [1.5, -2, 0.5, 0, 1];
  const trueBias = -0.3;
  const random = seededRandom(42);
  const x: number[][] = [];
  const z: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const row = trueWeights.map(() => gaussian(random));
    x.push(row);
    z.push(row.reduce((s, v, j) => s + v * trueWeights[j], trueBias));
  }
  const sigma = (v: number) => 1 / (1 + Math.exp(-v));
  /** Maps standardised-feature parameters back to raw-feature ones. */
  const raw = (fit: ReturnType<typeof fitLogisticRegression>) => ({
    weights: fit.weights.map((w, j) => w / fit.scale[j]),
    bias: fit.bias - fit.weights.reduce((s, w, j) => s + (w * fit.mean[j]) / fit.scale[j], 0),
  });

  it('recovers known weights from sampled 0/1 labels', () => {
    const y = z.map(v => (random.next() < sigma(v) ? 1 : 0));
    const fit = raw(fitLogisticRegression(x, y, { l2: 0 }));
    fit.weights.forEach((w, j) => expect(Math.abs(w - trueWeights[j])).toBeLessThan(0.1));
    expect(Math.abs(fit.bias - trueBias)).toBeLessThan(0.1);
  });

  it('recovers them exactly from soft labels', () => {
    const fit = raw(
      fitLogisticRegression(x.slice(0, 2000), z.slice(0, 2000).map(sigma), { l2: 0 }),
    );
    fit.weights.forEach((w, j) => expect(w).toBeCloseTo(trueWeights[j], 4));
    expect(fit.bias).toBeCloseTo(trueBias, 4);
  });

  it('a rejection weight c shifts the bias by −log c (weighted BCE optimum σ(z) = y/(y + c(1−y)))', () => {
    const soft = z.slice(0, 2000).map(sigma);
    const fit = raw(fitLogisticRegression(x.slice(0, 2000), soft, { l2: 0, rejectionWeight: 6 }));
    expect(fit.bias).toBeCloseTo(trueBias - Math.log(6), 3);
    fit.weights.forEach((w, j) => expect(w).toBeCloseTo(trueWeights[j], 3));
  });

  it('validates its inputs', () => {
    expect(() => fitLogisticRegression([], [])).toThrow(InvalidArgumentError);
    expect(() => fitLogisticRegression([[1]], [2])).toThrow(InvalidArgumentError);
    expect(() => fitLogisticRegression([[1]], [1], { rejectionWeight: 0 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('acceptance head JSON and calibration', () => {
  const json = {
    kind: 'specdec-pp/logistic' as const,
    version: 1 as const,
    hiddenSize: 2,
    withDraftProbability: true,
    mean: [0, 1, 0.5],
    scale: [1, 2, 0.25],
    weights: [0.5, -1, 2],
    bias: 0.1,
  };
  it('round-trips through JSON text and predicts σ(w·(x−μ)/s + b)', () => {
    const head = parseAcceptanceHead(JSON.stringify(parseAcceptanceHead(json).toJSON()));
    const p = head.predict({ hidden: Float32Array.from([1, 3]), draftProbability: 0.75, depth: 0 });
    const zed = 0.1 + 0.5 * 1 - 1 * 1 + 2 * 1;
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-zed)), 6);
    expect(() =>
      head.predict({ hidden: new Float32Array(3), draftProbability: 1, depth: 0 }),
    ).toThrow(InvalidArgumentError);
  });
  it('rejects malformed heads', () => {
    expect(() => parseAcceptanceHead({ ...json, kind: 'other' } as never)).toThrow(
      ModelFormatError,
    );
    expect(() => parseAcceptanceHead({ ...json, weights: [1] })).toThrow(ModelFormatError);
  });
  it('AUC by ranks, and Brier / reliability of a perfect head', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBeCloseTo(0.75);
    expect(rocAuc([0.5, 0.5], [false, true])).toBeCloseTo(0.5);
    const samples: AcceptanceSample[] = [0, 1, 1, 0].map((label, i) => ({
      features: { hidden: Float32Array.of(label), draftProbability: 1, depth: i },
      token: 0,
      label,
      accepted: label === 1,
    }));
    const oracle: AcceptanceHead = { name: 'oracle', predict: f => f.hidden[0] };
    const calibration = evaluateAcceptanceHead(oracle, samples);
    expect(calibration.brier).toBe(0);
    expect(calibration.baselineBrier).toBeCloseTo(0.25);
    expect(calibration.auc).toBe(1);
    expect(calibration.ece).toBe(0);
    expect(calibration.reliability.map(b => b.count)).toEqual([2, 2]);
  });
});

describe('specdecPP stopping rule', () => {
  const target = toyModel({ vocabSize: 8, seed: 3 });
  const draft = withLogitHidden(toyModel({ vocabSize: 8, seed: 3 }));

  it('stops at the first k with 1 − a^k > threshold, never past maxLength', async () => {
    const constant = (a: number): AcceptanceHead => ({ name: 'constant', predict: () => a });
    // 1 − 0.9^3 = 0.271 ≤ 0.3 < 1 − 0.9^4 = 0.344 → 4 tokens per draft.
    for (const [a, threshold, maxLength, expected] of [
      [0.9, 0.3, 20, 4],
      [0.5, 0.3, 20, 1],
      [0.99, 0.3, 6, 6],
    ] as const) {
      const strategy = specdecPP({ model: draft, head: constant(a), threshold, maxLength });
      await createDecoder({ model: target })
        .use(strategy)
        .generate({ tokens: [1, 2, 3] }, { maxTokens: 40 });
      const { draftSteps, draftedTokens } = strategy.drafter;
      expect(draftSteps).toBeGreaterThan(0);
      // Only the last step may be cut shorter (by maxTokens).
      expect(draftedTokens).toBeGreaterThan((draftSteps - 1) * expected);
      expect(draftedTokens).toBeLessThanOrEqual(draftSteps * expected);
    }
  });

  it('validates options', () => {
    const head: AcceptanceHead = { name: 'h', predict: () => 1 };
    expect(() => specdecPP({ model: draft, head, threshold: 0 })).toThrow(InvalidArgumentError);
    expect(() => specdecPP({ model: draft, head, maxLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => specdecPP({ model: draft, head, minLength: 30 })).toThrow(InvalidArgumentError);
    expect(() => specdecPP({ model: draft, head: undefined as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      specdecPP({ model: mockModel({ vocabSize: 4, logits: () => new Float32Array(4) }), head }),
    ).toThrow(UnsupportedCapabilityError);
  });
});
