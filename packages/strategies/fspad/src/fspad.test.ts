import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';
import { runFeatureDrafterChecks } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { fspad, parseFspadWeights, randomFspadWeights, serializeFspadWeights } from './index.js';

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomFspadWeights({ vocabSize: 12, hiddenSize: 4, seed: 3 });
    const parsed = parseFspadWeights(serializeFspadWeights(weights));
    expect(parsed.innerSize).toBe(8);
    expect(Array.from(parsed.tensors['emlp.gate'])).toEqual(
      Array.from(weights.tensors['emlp.gate']),
    );
    expect(Array.from(parsed.tensors['mlp.down'])).toEqual(Array.from(weights.tensors['mlp.down']));
  });
  it('rejects other files, bad shapes and bad options with typed errors', () => {
    expect(() => parseFspadWeights('{"format":"decodekit-eagle/1"}')).toThrow(ModelFormatError);
    const weights = randomFspadWeights({ vocabSize: 12, hiddenSize: 4 });
    expect(() => fspad({ weights: { ...weights, innerSize: 5 } })).toThrow(
      /emlp.gate must hold 5×4/,
    );
    expect(() => fspad({ weights, topK: 0 })).toThrow(InvalidArgumentError);
  });
});

runFeatureDrafterChecks({
  name: 'fspad',
  drafter: options =>
    fspad({
      weights: randomFspadWeights({ vocabSize: 16, hiddenSize: 4, seed: 1, scale: 0.3 }),
      ...options,
    }),
});
