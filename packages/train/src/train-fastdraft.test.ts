import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import type { Dataset } from './dataset.js';
import { distillLlama, fineTuneLlama, tfLlama, type TfLlamaConfig } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import {
  draftAcceptance,
  fastDraftRecipe,
  initLlamaWeights,
  llamaParameterCount,
  type FastDraftRecipeFlags,
} from './train-fastdraft.js';

const TINY: TfLlamaConfig = {
  vocabSize: 16,
  dim: 8,
  hiddenDim: 12,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  contextLength: 32,
  tiedEmbeddings: true,
};

describe('llamaParameterCount', () => {
  it.each([
    // stories260K: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512, tied.
    {
      name: 'stories260K',
      config: {
        ...TINY,
        vocabSize: 512,
        dim: 64,
        hiddenDim: 172,
        numLayers: 5,
        numHeads: 8,
        numKvHeads: 4,
      },
      expected: 260_032,
    },
    {
      name: 'llama2xs',
      config: {
        ...TINY,
        vocabSize: 512,
        dim: 64,
        hiddenDim: 192,
        numLayers: 5,
        numHeads: 8,
        numKvHeads: 4,
      },
      expected: 279_232,
    },
    // The committed FastDraft draft: dim 48, hidden 128, 4 layers, 6 heads, 3 KV heads.
    {
      name: 'fastdraft',
      config: {
        ...TINY,
        vocabSize: 512,
        dim: 48,
        hiddenDim: 128,
        numLayers: 4,
        numHeads: 6,
        numKvHeads: 3,
      },
      expected: 126_384,
    },
    // The previous FastDraft draft: the same with 3 layers.
    {
      name: 'fastdraft 3 layers',
      config: {
        ...TINY,
        vocabSize: 512,
        dim: 48,
        hiddenDim: 128,
        numLayers: 3,
        numHeads: 6,
        numKvHeads: 3,
      },
      expected: 100_944,
    },
    {
      name: 'untied tiny',
      config: { ...TINY, tiedEmbeddings: false },
      expected: 16 * 8 * 2 + 2 * (2 * 64 + 2 * 4 * 8 + 3 * 12 * 8 + 16) + 8,
    },
  ])('$name has $expected parameters', ({ config, expected }) => {
    expect(llamaParameterCount(config)).toBe(expected);
  });
});

describe('initLlamaWeights', () => {
  it('is deterministic by seed, with unit norms and small matrices', () => {
    const a = initLlamaWeights(TINY, 3);
    expect(initLlamaWeights(TINY, 3)).toEqual(a);
    expect(initLlamaWeights(TINY, 4).wq).not.toEqual(a.wq);
    expect(Array.from(a.rmsAtt).every(value => value === 1)).toBe(true);
    const std = Math.sqrt(
      a.tokenEmbedding.reduce((sum, x) => sum + x * x, 0) / a.tokenEmbedding.length,
    );
    expect(std).toBeGreaterThan(0.012);
    expect(std).toBeLessThan(0.028);
    expect(a.wcls).toBeUndefined();
  });
  it('rejects a non-integer seed', () => {
    expect(() => initLlamaWeights(TINY, 0.5)).toThrow(InvalidArgumentError);
  });
});

/** Held-out data whose "target" is the model `weights` itself: its hidden states and tied classifier. */
async function selfDataset(seed: number): Promise<{ dataset: Dataset; lmHead: Float32Array }> {
  await useTrainBackend('cpu');
  const weights = initLlamaWeights(TINY, seed);
  // Larger weights than the init, so the distributions are far from uniform.
  for (const key of ['tokenEmbedding', 'wq', 'wk', 'wv', 'w1', 'w3'] as const)
    weights[key] = weights[key].map(x => x * 40);
  const model = tfLlama(TINY, weights);
  const sequences = [
    [1, 5, 7, 2, 9, 3, 3, 4],
    [1, 11, 12, 13, 0, 6],
  ];
  const hidden: Float32Array[] = sequences.map(
    tokens =>
      tf.tidy(() =>
        model.hidden(tf.tensor2d(Int32Array.from(tokens), [1, tokens.length], 'int32')).dataSync(),
      ) as Float32Array,
  );
  model.dispose();
  const offsets = Int32Array.of(0, 8, 14);
  const all = new Float32Array(14 * TINY.dim);
  hidden.forEach((rows, i) => all.set(rows, offsets[i] * TINY.dim));
  return {
    dataset: {
      model: 'self',
      hiddenSize: TINY.dim,
      options: { count: 2, length: 8, seed, sampledPrefix: 2 },
      offsets,
      tokens: Int32Array.from(sequences.flat()),
      hidden: all,
    },
    lmHead: weights.tokenEmbedding,
  };
}

describe('draftAcceptance', () => {
  it('is 1 at every temperature for a draft identical to the target, and lower for another draft', async () => {
    const { dataset, lmHead } = await selfDataset(5);
    // The same weights the dataset was made with (scaled as in selfDataset).
    const same = initLlamaWeights(TINY, 5);
    for (const key of ['tokenEmbedding', 'wq', 'wk', 'wv', 'w1', 'w3'] as const)
      same[key] = same[key].map(x => x * 40);
    for (const temperature of [0, 0.8, 1]) {
      const result = draftAcceptance(TINY, same, dataset, lmHead, temperature, 3);
      // Positions 2..6 of the first sequence and 2..4 of the second.
      expect(result).toEqual({ temperature, acceptance: expect.closeTo(1, 5), positions: 5 + 3 });
    }
    const other = initLlamaWeights(TINY, 6);
    for (const key of ['tokenEmbedding', 'wq', 'wk', 'wv', 'w1', 'w3'] as const)
      other[key] = other[key].map(x => x * 40);
    expect(draftAcceptance(TINY, other, dataset, lmHead, 0.8, 3).acceptance).toBeLessThan(0.9);
  });

  it('refuses a classifier of another vocabulary', async () => {
    const { dataset } = await selfDataset(5);
    expect(() =>
      draftAcceptance(TINY, initLlamaWeights(TINY, 1), dataset, new Float32Array(8), 0, 3),
    ).toThrow(/target's vocabulary/);
  });
});

describe('distillLlama', () => {
  /** The self-dataset's sequences with the teacher's hidden states. */
  async function teacherData(seed: number) {
    const { dataset, lmHead } = await selfDataset(seed);
    const H = dataset.hiddenSize;
    const sequences = Array.from({ length: dataset.offsets.length - 1 }, (_, i) => ({
      tokens: Array.from(dataset.tokens.subarray(dataset.offsets[i], dataset.offsets[i + 1])),
      hidden: dataset.hidden.subarray(dataset.offsets[i] * H, dataset.offsets[i + 1] * H),
    }));
    return { dataset, lmHead, sequences };
  }
  const loop = { steps: 40, batchSize: 2, learningRate: 2e-2, seed: 3, backend: 'cpu' as const };

  it('with weight 0 is fineTuneLlama on the tokens', async () => {
    const { lmHead, sequences } = await teacherData(5);
    const start = initLlamaWeights(TINY, 8);
    const options = { ...loop, steps: 5, logEvery: 1 };
    const plain = await fineTuneLlama(
      TINY,
      start,
      sequences.map(sequence => sequence.tokens),
      options,
    );
    const distilled = await distillLlama(TINY, start, sequences, {
      ...options,
      lmHead,
      hiddenSize: TINY.dim,
      kdWeight: 0,
    });
    expect(distilled.losses.map(({ loss }) => loss)).toEqual(
      plain.losses.map(({ loss }) => expect.closeTo(loss, 5)),
    );
  });

  it('matches the teacher’s distributions, which the tokens alone do not teach', async () => {
    const { dataset, lmHead, sequences } = await teacherData(5);
    const start = initLlamaWeights(TINY, 8);
    const overlap = (weights: typeof start) =>
      draftAcceptance(TINY, weights, dataset, lmHead, 1, 1).acceptance;
    const teacher = { lmHead, hiddenSize: TINY.dim };
    const distilled = await distillLlama(TINY, start, sequences, {
      ...loop,
      ...teacher,
      kdWeight: 1,
    });
    const tokensOnly = await distillLlama(TINY, start, sequences, {
      ...loop,
      ...teacher,
      kdWeight: 0,
    });
    // Σ min(p, q) over every position: the student's softmax approaches the teacher's.
    expect(overlap(distilled.weights)).toBeGreaterThan(0.9);
    expect(overlap(distilled.weights)).toBeGreaterThan(overlap(tokensOnly.weights) + 0.1);
    expect(overlap(distilled.weights)).toBeGreaterThan(overlap(start) + 0.2);
  });

  it('refuses a weight outside [0, 1] and a classifier of another size', async () => {
    const { lmHead, sequences } = await teacherData(5);
    const start = initLlamaWeights(TINY, 8);
    await expect(
      distillLlama(TINY, start, sequences, {
        ...loop,
        lmHead,
        hiddenSize: TINY.dim,
        kdWeight: 1.5,
      }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      distillLlama(TINY, start, sequences, {
        ...loop,
        lmHead: lmHead.subarray(1),
        hiddenSize: TINY.dim,
        kdWeight: 1,
      }),
    ).rejects.toThrow(/teacher's classifier/);
  });
});

describe('fastDraftRecipe', () => {
  const flags: FastDraftRecipeFlags = {
    dim: 48,
    hidden: 128,
    layers: 3,
    heads: 6,
    kvHeads: 3,
    pretrainCount: 400,
    pretrainLength: 128,
    pretrainSteps: 60,
    pretrainLr: 5e-3,
    alignCount: 200,
    alignPrefix: 16,
    alignLength: 160,
    alignTemperatures: [0, 0.8],
    alignSteps: 60,
    alignLr: 2e-3,
    heldOutCount: 24,
    batchSize: 16,
    seed: 0,
    backend: 'wasm',
  };

  it('pretrains on free generations, aligns on greedy and sampled continuations, holds other prompts out', () => {
    const recipe = fastDraftRecipe(flags);
    expect(recipe.pretrain.data).toEqual([
      { count: 400, length: 128, seed: 0, sampledPrefix: 126 },
    ]);
    expect(recipe.align.data).toEqual([
      { count: 200, length: 160, seed: 100_000, sampledPrefix: 16 },
      { count: 200, length: 160, seed: 100_000, sampledPrefix: 16, temperature: 0.8 },
    ]);
    // Prompt i of a dataset is drawn with seed + i: the held-out prompts never meet the training ones.
    const heldOutSeeds = recipe.heldOut.map(({ data }) => data.seed);
    expect(heldOutSeeds).toEqual([1_000_000, 1_000_000]);
    expect(heldOutSeeds[0]).toBeGreaterThanOrEqual(100_000 + flags.alignCount);
    expect(recipe.heldOut.map(({ temperature }) => temperature)).toEqual([0, 0.8]);
    expect(recipe.shape).toEqual({
      dim: 48,
      hiddenDim: 128,
      numLayers: 3,
      numHeads: 6,
      numKvHeads: 3,
    });
  });

  it('varies the data: free generations per temperature, prompt sets per length and prompt temperature, KD weights', () => {
    const recipe = fastDraftRecipe({
      ...flags,
      alignCount: 100,
      pretrainTemperatures: [1, 0.7],
      alignPrefixes: [4, 48],
      alignPrefixTemperatures: [1, 0.7],
      pretrainKd: 1,
      alignKd: 0.5,
    });
    expect(recipe.pretrain.data).toEqual([
      { count: 400, length: 128, seed: 0, sampledPrefix: 126 },
      { count: 400, length: 128, seed: 400, sampledPrefix: 126, prefixTemperature: 0.7 },
    ]);
    expect(recipe.pretrain.kdWeight).toBe(1);
    expect(recipe.align.kdWeight).toBe(0.5);
    // Four prompt sets (4 and 48 tokens, each at T = 1 and 0.7), each continued greedily and at T = 0.8.
    const sets = [
      { sampledPrefix: 4 },
      { sampledPrefix: 4, prefixTemperature: 0.7 },
      { sampledPrefix: 48 },
      { sampledPrefix: 48, prefixTemperature: 0.7 },
    ];
    expect(recipe.align.data).toEqual(
      sets.flatMap((set, j) =>
        [{}, { temperature: 0.8 }].map(continuation => ({
          count: 100,
          length: 160,
          seed: 100_000 + 200 * j,
          ...set,
          ...continuation,
        })),
      ),
    );
    // Prompt set j draws seeds [seed, seed + 2 × count): the sets, and the held-out prompts, never overlap.
    const ranges = recipe.align.data.map(({ seed, count }) => [seed, seed + 2 * count]);
    for (let j = 2; j < ranges.length; j += 2) expect(ranges[j][0]).toBe(ranges[j - 2][1]);
    expect(recipe.heldOut.map(({ data }) => data)).toEqual([
      { count: 24, length: 160, seed: 1_000_000, sampledPrefix: 16 },
      { count: 24, length: 160, seed: 1_000_000, sampledPrefix: 16, temperature: 0.8 },
    ]);
    expect(fastDraftRecipe(flags).pretrain.kdWeight).toBeUndefined();
  });

  it.each([
    { alignPrefixes: [0] },
    { alignPrefixes: [159] },
    { alignPrefixes: [] },
    { alignPrefixTemperatures: [0] },
    { pretrainTemperatures: [Number.NaN] },
    { pretrainKd: 1.5 },
    { alignKd: -0.1 },
    { alignCount: 500_000 },
  ])('refuses %j', bad => {
    expect(() => fastDraftRecipe({ ...flags, ...bad })).toThrow(InvalidArgumentError);
  });

  it.each([[[]], [[-1]], [[Number.NaN]]])('refuses alignment temperatures %j', temperatures => {
    expect(() => fastDraftRecipe({ ...flags, alignTemperatures: temperatures })).toThrow(
      InvalidArgumentError,
    );
  });
});
