import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { softmax } from '../processors/softmax.js';
import { categorical } from './categorical.js';
import { greedy } from './greedy.js';
import { sampleFromProbabilities } from './sample-from-probabilities.js';
import { seededRandom } from './seeded-random.js';

/** Pearson's chi-square statistic of `counts` against `probabilities`. */
function chiSquare(counts: readonly number[], probabilities: ArrayLike<number>): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  let statistic = 0;
  for (let i = 0; i < counts.length; i++) {
    const expected = total * probabilities[i];
    if (expected === 0) {
      expect(counts[i]).toBe(0);
      continue;
    }
    statistic += (counts[i] - expected) ** 2 / expected;
  }
  return statistic;
}

describe('seededRandom', () => {
  it('is reproducible and seed-dependent', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed).next);
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(-1)).not.toEqual(draw(0xffffffff));
    expect(draw(2 ** 40)).not.toEqual(draw(0));
  });

  it('returns numbers in [0, 1) with a uniform histogram', () => {
    const random = seededRandom(7);
    const counts = Array.from({ length: 16 }, () => 0);
    let outOfRange = 0;
    for (let i = 0; i < 160_000; i++) {
      const value = random.next();
      if (!(value >= 0 && value < 1)) outOfRange++;
      counts[Math.floor(value * 16)]++;
    }
    expect(outOfRange).toBe(0);
    // 15 degrees of freedom: the 99.9th percentile of chi-square is 37.7.
    expect(
      chiSquare(
        counts,
        Array.from({ length: 16 }, () => 1 / 16),
      ),
    ).toBeLessThan(37.7);
  });

  it('clone() continues from the same state independently', () => {
    const random = seededRandom(1);
    random.next();
    const copy = random.clone();
    const expected = [random.next(), random.next()];
    expect([copy.next(), copy.next()]).toEqual(expected);
  });

  it.each([1.5, NaN, Infinity, 2 ** 60])('rejects seed %s', seed => {
    expect(() => seededRandom(seed)).toThrow(/safe integer/);
  });
});

describe('greedy', () => {
  it.each([
    { logits: [0.1, 0.7, 0.7, 0.2], expected: 1 },
    { logits: [-Infinity, 2, 2], expected: 1 },
    { logits: [3], expected: 0 },
  ])('takes the argmax, lowest id on ties: $logits → $expected', ({ logits, expected }) => {
    const sampler = greedy();
    expect(sampler.greedy).toBe(true);
    expect(sampler.sample(Float32Array.from(logits), seededRandom(0))).toBe(expected);
  });

  it('throws when every token is banned', () => {
    expect(() => greedy().sample(Float32Array.of(-Infinity, -Infinity), seededRandom(0))).toThrow(
      /banned/,
    );
  });
});

describe('categorical', () => {
  it('same seed, same ids', () => {
    const logits = Float32Array.from([0.5, 1, -Infinity, 2, 0]);
    const run = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 50 }, () => categorical().sample(logits, random));
    };
    expect(run(123)).toEqual(run(123));
    expect(run(123)).not.toEqual(run(124));
  });

  it.each([
    { logits: [Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)] },
    { logits: [0, -Infinity, 2, 1, -Infinity] },
    { logits: [50, 49, 48, 1000 - 1000] },
  ])('histogram converges to softmax($logits)', ({ logits }) => {
    const row = Float32Array.from(logits);
    const probabilities = softmax(row);
    const random = seededRandom(2024);
    const sampler = categorical();
    expect(sampler.greedy).toBe(false);
    const chiSquares = [1_000, 100_000].map(samples => {
      const counts = Array.from({ length: row.length }, () => 0);
      for (let i = 0; i < samples; i++) counts[sampler.sample(row, random)]++;
      return {
        statistic: chiSquare(counts, probabilities),
        frequencies: counts.map(count => count / samples),
      };
    });
    // At most 4 degrees of freedom: the 99.9th percentile of chi-square is 18.5.
    for (const { statistic } of chiSquares) expect(statistic).toBeLessThan(18.5);
    const error = (frequencies: number[]) =>
      Math.max(...frequencies.map((f, i) => Math.abs(f - probabilities[i])));
    expect(error(chiSquares[1].frequencies)).toBeLessThan(0.005);
    expect(error(chiSquares[1].frequencies)).toBeLessThanOrEqual(
      error(chiSquares[0].frequencies) + 1e-9,
    );
  });

  it('never draws a banned token and throws when all are banned', () => {
    const random = seededRandom(5);
    const row = Float32Array.from([-Infinity, 0, -Infinity]);
    for (let i = 0; i < 100; i++) expect(categorical().sample(row, random)).toBe(1);
    expect(() => categorical().sample(Float32Array.of(-Infinity), random)).toThrow(/banned/);
  });

  test.prop([
    fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -20, max: 20 }), {
      minLength: 1,
      maxLength: 10,
    }),
    fc.integer(),
  ])(
    'agrees with sampleFromProbabilities(softmax(logits)) on the same random state',
    (logits, seed) => {
      const row = Float32Array.from(logits);
      const fromLogits = categorical().sample(row, seededRandom(seed));
      const fromProbabilities = sampleFromProbabilities(softmax(row), seededRandom(seed));
      // Float32 rounding of the probabilities can move a boundary by one ulp; it almost never does.
      expect(Math.abs(fromLogits - fromProbabilities)).toBeLessThanOrEqual(1);
    },
  );
});

describe('sampleFromProbabilities', () => {
  it('draws proportionally to unnormalised weights', () => {
    const random = seededRandom(9);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[sampleFromProbabilities([2, 0, 6], random)]++;
    expect(counts[1]).toBe(0);
    expect(chiSquare(counts, [0.25, 0, 0.75])).toBeLessThan(13.8);
  });

  it('uses one draw per sample and is deterministic', () => {
    const random = seededRandom(3);
    const copy = random.clone();
    const value = copy.next();
    expect(sampleFromProbabilities([0.5, 0.5], random)).toBe(value < 0.5 ? 0 : 1);
    expect(random.next()).toBe(copy.next());
  });

  it.each([[[0, 0]], [[]], [[NaN, 1]]])('throws on weights %j', weights => {
    expect(() => sampleFromProbabilities(weights, seededRandom(0))).toThrow(/cannot sample/);
  });
});
