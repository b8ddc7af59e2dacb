import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { batchIndices, checkLoopOptions, scheduledLearningRate } from './training-loop.js';

describe('batchIndices', () => {
  it('walks seeded permutations: every sample once per epoch, the same order for the same seed', () => {
    const cache = new Map<number, Int32Array>();
    const epoch = [0, 1, 2, 3].flatMap(step => Array.from(batchIndices(12, 3, step, 5, cache)));
    expect([...epoch].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(Array.from(batchIndices(12, 3, 2, 5, new Map()))).toEqual(epoch.slice(6, 9));
    const other = [0, 1, 2, 3].flatMap(step => Array.from(batchIndices(12, 3, step, 6, new Map())));
    expect(other).not.toEqual(epoch);
  });
  it('crosses epoch boundaries inside a batch', () => {
    const batch = batchIndices(5, 4, 1, 0, new Map()); // positions 4..7: the last of epoch 0, three of epoch 1
    expect(batch).toHaveLength(4);
    expect(new Set(Array.from(batch).slice(1)).size).toBe(3);
  });
});

describe('checkLoopOptions', () => {
  const valid = { steps: 10, batchSize: 4, learningRate: 0.01, seed: 0, backend: 'cpu' as const };
  it.each([
    { change: { steps: 0 }, argument: 'steps' },
    { change: { batchSize: 2.5 }, argument: 'batchSize' },
    { change: { learningRate: -1 }, argument: 'learningRate' },
    { change: { seed: 0.5 }, argument: 'seed' },
    { change: { checkpointEvery: 0 }, argument: 'checkpointEvery' },
  ])('rejects $argument', ({ change, argument }) => {
    const error = (() => {
      try {
        checkLoopOptions({ ...valid, ...change });
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('learning-rate schedules', () => {
  it('cosine decays from the learning rate through half at mid-run towards 0; constant stays', () => {
    expect(scheduledLearningRate(0.1, 'cosine', 0, 100)).toBeCloseTo(0.1, 12);
    expect(scheduledLearningRate(0.1, 'cosine', 50, 100)).toBeCloseTo(0.05, 12);
    expect(scheduledLearningRate(0.1, 'cosine', 99, 100)).toBeLessThan(1e-4);
    expect(scheduledLearningRate(0.1, 'constant', 99, 100)).toBe(0.1);
  });

  it('rejects an unknown schedule', () => {
    const options = { steps: 1, batchSize: 1, learningRate: 0.1, seed: 0, backend: 'cpu' as const };
    expect(() =>
      checkLoopOptions({ ...options, schedule: 'linear' as unknown as 'cosine' }),
    ).toThrow(InvalidArgumentError);
  });
});
