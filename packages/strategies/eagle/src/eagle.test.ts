import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';
import { runFeatureDrafterChecks } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { eagle, parseEagleWeights, randomEagleWeights, serializeEagleWeights } from './index.js';

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomEagleWeights({ vocabSize: 12, hiddenSize: 4, seed: 3 });
    const parsed = parseEagleWeights(serializeEagleWeights(weights));
    expect(parsed.innerSize).toBe(16);
    expect(Array.from(parsed.fc.weight)).toEqual(Array.from(weights.fc.weight));
    expect(Array.from(parsed.down.weight)).toEqual(Array.from(weights.down.weight));
  });
  it('rejects other files, bad shapes and bad options with typed errors', () => {
    expect(() => parseEagleWeights('{"format":"decodekit-medusa/1"}')).toThrow(ModelFormatError);
    const weights = randomEagleWeights({ vocabSize: 12, hiddenSize: 4 });
    expect(() => eagle({ weights: { ...weights, innerSize: 8 } })).toThrow(
      /up.weight must hold 8×4/,
    );
    expect(() => eagle({ weights, topK: 0 })).toThrow(InvalidArgumentError);
  });
});

runFeatureDrafterChecks({
  name: 'eagle',
  drafter: options =>
    eagle({
      weights: randomEagleWeights({ vocabSize: 16, hiddenSize: 4, seed: 1, scale: 0.3 }),
      ...options,
    }),
});
