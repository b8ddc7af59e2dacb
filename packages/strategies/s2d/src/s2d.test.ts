import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  createDecoder,
  mockModel,
} from '@decodekit/core';
import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { toyModel } from '@decodekit/conformance';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxProbability, nestedSubModel, s2d } from './index.js';

let base: LoadedModel;
beforeAll(async () => {
  base = await loadModel('karpathy/tinyllamas/stories260K');
});

describe('nestedSubModel', () => {
  it('validates its arguments', () => {
    expect(() => nestedSubModel(base, 0)).toThrow(InvalidArgumentError);
    expect(() => nestedSubModel(base, 6)).toThrow(InvalidArgumentError);
    expect(() => nestedSubModel(base, 2.5)).toThrow(InvalidArgumentError);
    expect(() =>
      nestedSubModel(mockModel({ vocabSize: 4, logits: () => new Float32Array(4) }), 0),
    ).toThrow(InvalidArgumentError);
    const mock = mockModel({ vocabSize: 4, logits: () => new Float32Array(4) });
    expect(() => nestedSubModel({ ...mock, info: { ...mock.info, numLayers: 2 } }, 1)).toThrow(
      UnsupportedCapabilityError,
    );
  });

  it('is the model with its last layers skipped, under its own name', async () => {
    const first3 = nestedSubModel(base, 3);
    expect(first3.info.name).toBe(`${base.info.name}[:3]`);
    expect(first3.tokenizer).toBe(base.tokenizer);
    const tokens = Int32Array.from([1, 403, 407, 261]);
    const viaWrapper = await first3.createSequence().forward({ tokens });
    const direct = await base.createSequence().forward({ tokens, skipLayers: [3, 4] });
    const full = await base.createSequence().forward({ tokens });
    expect(Array.from(viaWrapper.logits)).toEqual(Array.from(direct.logits));
    expect(Array.from(viaWrapper.logits)).not.toEqual(Array.from(full.logits));
    // A skip asked by the caller is merged with the sub-model's own.
    const merged = await first3.createSequence().forward({ tokens, skipLayers: [1] });
    const mergedDirect = await base.createSequence().forward({ tokens, skipLayers: [1, 3, 4] });
    expect(Array.from(merged.logits)).toEqual(Array.from(mergedDirect.logits));
    // All layers kept: the model itself.
    const whole = await nestedSubModel(base, 5).createSequence().forward({ tokens });
    expect(Array.from(whole.logits)).toEqual(Array.from(full.logits));
  });
});

describe('s2d', () => {
  it('validates its options', () => {
    expect(() => s2d({ draft: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => s2d({ draft: base, draftLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => s2d({ draft: base, temperature: -1 })).toThrow(InvalidArgumentError);
    expect(() => s2d({ draft: base, draftSkipLayers: [5] })).toThrow(InvalidArgumentError);
    expect(() => s2d({ draft: base, seed: 0.5 })).toThrow(InvalidArgumentError);
    expect(() => s2d({})).toThrow(InvalidArgumentError);
    expect(() => s2d({ draft: base, exits: [base] })).toThrow(InvalidArgumentError);
    expect(() => s2d({ exits: [] })).toThrow(InvalidArgumentError);
    expect(() => s2d({ exits: [base, {} as never] })).toThrow(InvalidArgumentError);
    expect(() => s2d({ exits: [base], threshold: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => s2d({ exits: [base], threshold: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => s2d({ exits: [base], draftSkipLayers: [4] })).toThrow(InvalidArgumentError);
    expect(() => s2d({ exits: [base, toyModel({ vocabSize: 8 })] })).toThrow(VocabMismatchError);
  });

  it('rejects a target with another vocabulary', async () => {
    const family = s2d({ draft: toyModel({ vocabSize: 8 }) });
    await expect(
      createDecoder({ model: toyModel({ vocabSize: 16 }) })
        .use(family.strategy())
        .generate({ tokens: [1] }, { maxTokens: 4 }),
    ).rejects.toThrow(VocabMismatchError);
  });

  it('serves several nested targets from one draft, concurrently, each exactly, with per-target acceptance', async () => {
    const family = s2d({ draft: base, draftSkipLayers: [2, 3, 4] });
    const targets = [3, 4, 5].map(layers => nestedSubModel(base, layers));
    const prompt = 'Once upon a time, there was a little dog named Max.';
    const reference = await Promise.all(
      targets.map(model =>
        createDecoder({ model, tokenizer: base.tokenizer }).generate(prompt, {
          maxTokens: 40,
          temperature: 0,
        }),
      ),
    );
    const results = await Promise.all(
      targets.map(model =>
        createDecoder({ model, tokenizer: base.tokenizer })
          .use(family.strategy())
          .generate(prompt, { maxTokens: 40, temperature: 0 }),
      ),
    );
    results.forEach((result, i) => expect(result.tokens).toEqual(reference[i].tokens));
    expect([...family.stats.keys()].sort()).toEqual(targets.map(model => model.info.name).sort());
    for (const entry of family.stats.values()) {
      expect(entry.generations).toBe(1);
      expect(entry.proposed).toBeGreaterThan(0);
      expect(entry.accepted).toBeGreaterThan(0);
      expect(entry.accepted).toBeLessThanOrEqual(entry.proposed);
    }
    expect(family.draftForwards).toBeGreaterThan(0);
  });
});

describe('maxProbability', () => {
  it.each([
    { logits: [0, 0, 0, 0], expected: 0.25 },
    { logits: [Math.log(1), Math.log(3)], expected: 0.75 },
    { logits: [-Infinity, 0, -Infinity], expected: 1 },
    { logits: [1000, 1000], expected: 0.5 },
  ])('$logits → $expected', ({ logits, expected }) => {
    expect(maxProbability(Float32Array.from(logits))).toBeCloseTo(expected, 5);
  });
});

describe('per-token exit selection', () => {
  // Vocabulary 4. The target (and the deep exit) continue with last + 1. The shallow exit says last + 2: sure of
  // it (p ≈ 0.9997) after an even token, undecided (uniform) after an odd one.
  const peaked = (token: number) =>
    Float32Array.from({ length: 4 }, (_, i) => (i === token ? 10 : 0));
  const next = (context: readonly number[]) => (context.at(-1) ?? 0) + 1;
  const target = mockModel({ name: 'target', vocabSize: 4, logits: c => peaked(next(c) % 4) });
  const deep = mockModel({ name: 'deep', vocabSize: 4, logits: c => peaked(next(c) % 4) });
  const shallow = mockModel({
    name: 'shallow',
    vocabSize: 4,
    logits: c =>
      (c.at(-1) ?? 0) % 2 === 0 ? peaked(((c.at(-1) ?? 0) + 2) % 4) : new Float32Array(4),
  });
  const run = async (threshold: number) => {
    const family = s2d({ exits: [shallow, deep], threshold });
    const result = await createDecoder({ model: target })
      .use(family.strategy())
      .generate({ tokens: [1] }, { maxTokens: 24, temperature: 0 });
    const reference = await createDecoder({ model: target }).generate(
      { tokens: [1] },
      { maxTokens: 24, temperature: 0 },
    );
    expect(result.tokens).toEqual(reference.tokens);
    const stats = family.stats.get('target');
    invariantStats(stats);
    return stats;
  };
  function invariantStats(
    stats: ReturnType<ReturnType<typeof s2d>['stats']['get']>,
  ): asserts stats is NonNullable<typeof stats> {
    expect(stats).toBeDefined();
  }

  it('emits at the first exit whose confidence reaches the threshold; exact either way', async () => {
    const adaptive = await run(0.9);
    // The shallow exit speaks after even tokens (and is always wrong), the deep one after odd tokens.
    expect(adaptive.exitProposed[0]).toBeGreaterThan(0);
    expect(adaptive.exitAccepted[0]).toBe(0);
    expect(adaptive.exitProposed[1]).toBeGreaterThan(0);
    expect(adaptive.exitAccepted[1]).toBeGreaterThan(0);
    expect(adaptive.exitProposed[0] + adaptive.exitProposed[1]).toBe(adaptive.proposed);
    expect(adaptive.exitAccepted[0] + adaptive.exitAccepted[1]).toBe(adaptive.accepted);
  });

  it.each([
    { threshold: 1, shallow: false }, // never sure enough: the deep exit drafts everything
    { threshold: 0, shallow: true }, // always sure enough: the shallow exit drafts everything
  ])('threshold $threshold', async ({ threshold, shallow: onlyShallow }) => {
    const stats = await run(threshold);
    if (onlyShallow) {
      expect(stats.exitProposed[1]).toBe(0);
      expect(stats.accepted).toBeLessThan(stats.proposed);
    } else {
      expect(stats.exitProposed[0]).toBe(0);
      expect(stats.accepted).toBe(stats.proposed);
    }
  });
});
