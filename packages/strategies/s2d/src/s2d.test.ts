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
import { nestedSubModel, s2d } from './index.js';

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
