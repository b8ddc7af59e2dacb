import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import {
  costTwinLabel,
  llamaParameterCount,
  parseTwinSize,
  planCostTwin,
  readCostTwinInfo,
  twinMlpLayer,
} from './cost-twin.js';
import type { LlamaConfig } from './llama-config.js';
import { randomLlamaWeights } from './tiny-model.js';

const STORIES: LlamaConfig = {
  vocabSize: 512,
  dim: 64,
  hiddenDim: 172,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  contextLength: 512,
  tiedEmbeddings: true,
};

describe('parseTwinSize', () => {
  it.each([
    ['25M', 25e6],
    ['100m', 100e6],
    ['400M', 400e6],
    ['1.5B', 1.5e9],
    ['300K', 3e5],
    ['123456', 123456],
  ])('%s is %d parameters', (text, expected) => {
    expect(parseTwinSize(text)).toBe(expected);
  });

  it.each(['', 'M', '-5M', '10X', 'big'])('rejects %j', text => {
    expect(() => parseTwinSize(text)).toThrow(InvalidArgumentError);
  });
});

describe('planCostTwin', () => {
  it('counts stories260K as llama2.c does (tied classifier once)', () => {
    expect(llamaParameterCount(STORIES)).toBe(
      512 * 64 + 5 * (2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 172) + 64,
    );
  });

  it.each([25e6, 100e6, 400e6])(
    'widens only the MLP, to within a thousandth of %d parameters',
    target => {
      const plan = planCostTwin(STORIES, target);
      expect({ ...plan.config, hiddenDim: STORIES.hiddenDim }).toEqual(STORIES);
      expect((plan.config.hiddenDim - STORIES.hiddenDim) % 64).toBe(0);
      expect(Math.abs(plan.parameters / target - 1)).toBeLessThan(0.001);
      expect(plan.originalParameters).toBe(llamaParameterCount(STORIES));
    },
  );

  it('refuses a twin that is not larger than the original', () => {
    expect(() => planCostTwin(STORIES, 200_000)).toThrow(InvalidArgumentError);
    expect(() => planCostTwin(STORIES, llamaParameterCount(STORIES) + 10)).toThrow(
      /larger than the original/,
    );
  });
});

describe('twinMlpLayer', () => {
  const config: LlamaConfig = {
    ...STORIES,
    vocabSize: 16,
    dim: 8,
    hiddenDim: 12,
    numLayers: 2,
    numHeads: 2,
    numKvHeads: 1,
  };
  const weights = randomLlamaWeights(config, 3);
  const twinHidden = 40;
  /** Copies each chunk as it comes: the generators reuse their row buffer. */
  const flatten = (chunks: Iterable<Float32Array>) => {
    const values: number[] = [];
    for (const chunk of chunks) values.push(...chunk);
    return Float32Array.from(values);
  };

  /** SwiGLU MLP of `x` from the twin's graph-layout tensors: w13 [dim, 2h], w2 [h, dim]. */
  function mlp(w13: Float32Array, w2: Float32Array, hidden: number, x: Float32Array): Float64Array {
    const out = new Float64Array(config.dim);
    for (let unit = 0; unit < hidden; unit++) {
      let gate = 0;
      let up = 0;
      for (let i = 0; i < config.dim; i++) {
        gate += x[i] * w13[i * 2 * hidden + unit];
        up += x[i] * w13[i * 2 * hidden + hidden + unit];
      }
      const activated = (gate / (1 + Math.exp(-gate))) * up;
      for (let o = 0; o < config.dim; o++) out[o] += activated * w2[unit * config.dim + o];
    }
    return out;
  }

  it('computes the original MLP exactly, with random gate/up and zero down weights on the added units', () => {
    const layer = 1;
    const twin = twinMlpLayer({ config, weights }, twinHidden, layer, 7);
    const w13 = flatten(twin.w13());
    const w2 = flatten(twin.w2());
    expect(w13).toHaveLength(config.dim * 2 * twinHidden);
    expect(w2).toHaveLength(twinHidden * config.dim);
    expect(w2.subarray(config.hiddenDim * config.dim).every(value => value === 0)).toBe(true);
    const added = w13.filter((_, index) => index % twinHidden >= config.hiddenDim); // gate and up columns
    expect(added.every(value => value !== 0)).toBe(true);

    // The original layout: w1, w3 [hidden, dim], w2 [dim, hidden].
    const size = config.hiddenDim * config.dim;
    const w1 = weights.w1.subarray(layer * size, (layer + 1) * size);
    const w3 = weights.w3.subarray(layer * size, (layer + 1) * size);
    const down = weights.w2.subarray(layer * size, (layer + 1) * size);
    const originalW13 = new Float32Array(config.dim * 2 * config.hiddenDim);
    const originalW2 = new Float32Array(size);
    for (let unit = 0; unit < config.hiddenDim; unit++) {
      for (let i = 0; i < config.dim; i++) {
        originalW13[i * 2 * config.hiddenDim + unit] = w1[unit * config.dim + i];
        originalW13[i * 2 * config.hiddenDim + config.hiddenDim + unit] = w3[unit * config.dim + i];
        originalW2[unit * config.dim + i] = down[i * config.hiddenDim + unit];
      }
    }
    const x = Float32Array.from({ length: config.dim }, (_, i) => Math.sin(i + 1));
    expect([...mlp(w13, w2, twinHidden, x)]).toEqual([
      ...mlp(originalW13, originalW2, config.hiddenDim, x),
    ]);
  });

  it('is seeded: the same seed gives the same weights, another seed others', () => {
    const of = (seed: number) =>
      flatten(twinMlpLayer({ config, weights }, twinHidden, 0, seed).w13());
    expect(of(1)).toEqual(of(1));
    expect(of(1)).not.toEqual(of(2));
  });
});

describe('readCostTwinInfo', () => {
  it('reads decodekit.twin and ignores folders without one', () => {
    const twin = {
      of: 'stories260K',
      target: '100M',
      parameters: 1e8,
      original_parameters: 260_000,
      original_intermediate_size: 172,
      seed: 0,
      label: costTwinLabel('stories260K', '100M'),
    };
    expect(readCostTwinInfo({ decodekit: { twin } })).toEqual(twin);
    expect(readCostTwinInfo({ decodekit: { graph: 'plain' } })).toBeUndefined();
    expect(readCostTwinInfo({})).toBeUndefined();
    expect(twin.label).toBe('stories260K function, 100M-parameter cost');
  });
});
