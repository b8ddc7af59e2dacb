import { InvalidArgumentError, seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { trainRanker, type RankerExample } from './train-ranker.js';

/** Examples where the gold continuation's features are a fixed rotation of the prefix's, negatives random. */
function examples(count: number, seed: number): RankerExample[] {
  const random = seededRandom(seed);
  const gaussian = () =>
    Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const F = 8;
  const vector = () => Float32Array.from({ length: F }, gaussian);
  return Array.from({ length: count }, () => {
    const prefix = vector();
    const gold = Float32Array.from({ length: F }, (_, k) => prefix[(k + 3) % F] + 0.1 * gaussian());
    return { prefix, gold, negatives: [vector(), vector()] };
  });
}

function score(
  result: Awaited<ReturnType<typeof trainRanker>>,
  prefix: Float32Array,
  suffix: Float32Array,
) {
  const F = prefix.length;
  let dot = 0;
  for (let d = 0; d < result.dim; d++) {
    let p = 0;
    let s = 0;
    for (let k = 0; k < F; k++) {
      p += result.prefix[d * F + k] * prefix[k];
      s += result.suffix[d * F + k] * suffix[k];
    }
    dot += p * s;
  }
  return dot;
}

describe('trainRanker', () => {
  const options = {
    steps: 150,
    batchSize: 16,
    learningRate: 0.02,
    seed: 3,
    backend: 'cpu' as const,
    dim: 8,
  };

  it('learns to rank gold continuations above negatives, deterministically by seed', async () => {
    const train = examples(256, 1);
    const result = await trainRanker(train, options);
    expect(result.losses.at(-1)?.loss).toBeLessThan(result.losses[0].loss * 0.5);
    const heldOut = examples(100, 2);
    const wins = heldOut.filter(e =>
      e.negatives.every(n => score(result, e.prefix, e.gold) > score(result, e.prefix, n)),
    ).length;
    expect(wins).toBeGreaterThan(90);
    // Untrained (0 steps is not allowed, 1 step barely moves): far from it.
    const barely = await trainRanker(train, { ...options, steps: 1 });
    const chance = heldOut.filter(e =>
      e.negatives.every(n => score(barely, e.prefix, e.gold) > score(barely, e.prefix, n)),
    ).length;
    expect(chance).toBeLessThan(70);
    const again = await trainRanker(train, options);
    expect(again.losses).toEqual(result.losses);
  }, 60_000);

  it('validates its examples', async () => {
    await expect(trainRanker([], options)).rejects.toThrow(InvalidArgumentError);
    const bad = examples(4, 1);
    bad[1] = { ...bad[1], negatives: [] };
    await expect(trainRanker(bad, options)).rejects.toThrow(InvalidArgumentError);
    await expect(trainRanker(examples(4, 1), { ...options, dim: 0 })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});
