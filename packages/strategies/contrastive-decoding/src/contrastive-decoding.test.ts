import {
  createDecoder,
  InvalidArgumentError,
  mockModel,
  VocabMismatchError,
  UnsupportedCapabilityError,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { contrastiveDecoding } from './index.js';

const logOf = (values: number[]) => values.map(Math.log);

describe('contrastiveDecoding', () => {
  it('computes (1+β)·z_e − β·z_a on plausible tokens and −∞ elsewhere (normalized toy logits = log-probs)', async () => {
    const expert = mockModel({ vocabSize: 4, logits: () => logOf([0.5, 0.3, 0.15, 0.05]) });
    const amateur = mockModel({ vocabSize: 4, logits: () => logOf([0.7, 0.1, 0.1, 0.1]) });
    const model = contrastiveDecoding({ expert, amateur, alpha: 0.2, beta: 1 });
    const { logits } = await model.createSequence().forward({ tokens: Int32Array.of(0) });
    // plausible: p ≥ 0.2 · 0.5 = 0.1 → tokens 0, 1, 2
    expect(logits[0]).toBeCloseTo(2 * Math.log(0.5) - Math.log(0.7), 5);
    expect(logits[1]).toBeCloseTo(2 * Math.log(0.3) - Math.log(0.1), 5);
    expect(logits[2]).toBeCloseTo(2 * Math.log(0.15) - Math.log(0.1), 5);
    expect(logits[3]).toBe(-Infinity);
    // the contrast flips the ranking: token 1 now beats token 0
    expect(logits[1]).toBeGreaterThan(logits[0]);
  });

  it('divides the amateur logits by its temperature', async () => {
    const expert = mockModel({ vocabSize: 2, logits: () => [0.5, 0] });
    const amateur = mockModel({ vocabSize: 2, logits: () => [1, 0] });
    const model = contrastiveDecoding({
      expert,
      amateur,
      alpha: 0,
      beta: 1,
      amateurTemperature: 0.5,
    });
    const { logits } = await model.createSequence().forward({ tokens: Int32Array.of(0) });
    expect(logits[0]).toBeCloseTo(2 * 0.5 - 1 / 0.5, 5);
    expect(logits[1]).toBeCloseTo(0, 5);
  });

  it('β = 0 is greedy decoding of the expert; trees, forks and speculative-style commits go to both streams', async () => {
    for (const seed of [1, 2, 3]) {
      const expert = toyModel({ vocabSize: 12, seed, copyBias: 2 });
      const amateur = toyModel({ vocabSize: 12, seed: seed + 10, copyBias: 1 });
      const greedy = await createDecoder({ model: expert }).generate(
        { tokens: [1, 2, 3] },
        { maxTokens: 30, repetitionPenalty: 1.2 },
      );
      const contrast = await createDecoder({
        model: contrastiveDecoding({ expert, amateur, beta: 0 }),
      }).generate({ tokens: [1, 2, 3] }, { maxTokens: 30, repetitionPenalty: 1.2 });
      expect(contrast.tokens).toEqual(greedy.tokens);
    }
    const expert = toyModel({ vocabSize: 12, seed: 4 });
    const amateur = toyModel({ vocabSize: 12, seed: 5 });
    const model = contrastiveDecoding({ expert, amateur });
    const sequence = model.createSequence();
    await sequence.forward({
      tokens: Int32Array.of(1, 2, 3, 4),
      parents: Int32Array.of(-1, 0, 0, 2),
    });
    sequence.commit([0, 2, 3]);
    expect(sequence.tokens).toEqual([1, 3, 4]);
    const fork = sequence.fork();
    fork.truncate(1);
    expect(fork.tokens).toEqual([1]);
    expect(sequence.tokens).toEqual([1, 3, 4]);
    // Reference: the combined row equals the formula on fresh forwards of the same context.
    const [a, b] = [expert.createSequence(), amateur.createSequence()];
    const direct = contrastiveDecoding({ expert, amateur, alpha: 0, beta: 0.5 });
    const out = await direct.createSequence().forward({ tokens: Int32Array.of(1, 3, 4) });
    const e = (await a.forward({ tokens: Int32Array.of(1, 3, 4) })).logits.slice(24, 36);
    const m = (await b.forward({ tokens: Int32Array.of(1, 3, 4) })).logits.slice(24, 36);
    for (let i = 0; i < 12; i++) expect(out.logits[24 + i]).toBeCloseTo(1.5 * e[i] - 0.5 * m[i], 4);
  });

  it('streams through the normal decoder', async () => {
    const model = contrastiveDecoding({
      expert: toyModel({ vocabSize: 12, seed: 1 }),
      amateur: toyModel({ vocabSize: 12, seed: 2 }),
    });
    const events = [];
    for await (const event of createDecoder({ model }).stream({ tokens: [1] }, { maxTokens: 5 }))
      events.push(event.type);
    expect(events).toEqual(['token', 'token', 'token', 'token', 'token', 'done']);
  });

  it('validates options and models', async () => {
    const expert = toyModel({ vocabSize: 8 });
    expect(() => contrastiveDecoding({ expert, amateur: toyModel({ vocabSize: 9 }) })).toThrow(
      VocabMismatchError,
    );
    expect(() => contrastiveDecoding({ expert, amateur: expert, alpha: 2 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => contrastiveDecoding({ expert, amateur: expert, beta: -1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => contrastiveDecoding({ expert, amateur: expert, amateurTemperature: 0 })).toThrow(
      InvalidArgumentError,
    );
    const model = contrastiveDecoding({ expert, amateur: expert });
    await expect(
      model.createSequence().forward({ tokens: Int32Array.of(1), hidden: true }),
    ).rejects.toThrow(UnsupportedCapabilityError);
  });
});
