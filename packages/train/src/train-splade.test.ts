import { InvalidArgumentError, type CausalLM } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { tfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { seededUniform } from './training-loop.js';
import { bm25HardNegatives, generateStoryRetrievalPairs } from './story-retrieval-pairs.js';
import { spladeVectors, trainSplade, type SpladePair } from './train-splade.js';

const config: TfLlamaConfig = {
  vocabSize: 16,
  dim: 8,
  hiddenDim: 16,
  numLayers: 1,
  numHeads: 2,
  numKvHeads: 1,
  contextLength: 24,
  tiedEmbeddings: true,
};

function randomWeights(seed: number): TfLlamaWeights {
  const { vocabSize: v, dim: d, hiddenDim: h } = config;
  const kv = (d * config.numKvHeads) / config.numHeads;
  let next = seed;
  const uniform = (length: number, scale = 0.5) => seededUniform(length, scale, next++);
  return {
    tokenEmbedding: uniform(v * d, 1),
    rmsAtt: new Float32Array(d).fill(1),
    wq: uniform(d * d),
    wk: uniform(kv * d),
    wv: uniform(kv * d),
    wo: uniform(d * d),
    rmsFfn: new Float32Array(d).fill(1),
    w1: uniform(h * d),
    w2: uniform(d * h),
    w3: uniform(h * d),
    rmsFinal: new Float32Array(d).fill(1),
  };
}

/** Reference pooling: max over the rows of the second copy of log(1 + ReLU(logit)), one text at a time. */
function referenceVector(weights: TfLlamaWeights, ids: number[]): Float32Array {
  const model = tfLlama(config, weights);
  const tokens = [1, ...ids, ...ids];
  const logits = tf.tidy(
    () => model.logits(tf.tensor2d(tokens, [1, tokens.length], 'int32')).dataSync() as Float32Array,
  );
  model.dispose();
  const v = config.vocabSize;
  const best = new Float32Array(v);
  for (let row = 1 + ids.length; row < tokens.length; row++)
    for (let j = 0; j < v; j++)
      best[j] = Math.max(best[j], Math.log1p(Math.max(logits[row * v + j], 0)));
  return best;
}

describe('bm25HardNegatives', () => {
  it('picks the other document BM25 ranks best for each query, -1 when none shares a word', () => {
    const pairs = [
      { query: 'Tom has a red ball.', document: 'Tom plays with the ball.' },
      { query: 'Sue likes cake.', document: 'Tom has a red car.' },
      { query: 'A dog barks.', document: 'Sue bakes a cake.' },
      { query: 'Zebras zoom.', document: 'Birds sing.' },
    ];
    expect(bm25HardNegatives(pairs)).toEqual([1, 2, 1, -1]);
  });
});

describe('generateStoryRetrievalPairs', () => {
  it('rejects a resume with more pairs than asked or fewer attempts than pairs', async () => {
    const pair = { query: 'q', document: 'd' };
    for (const resume of [
      { pairs: [pair, pair], attempts: 5 },
      { pairs: [pair], attempts: 0 },
    ]) {
      const error = await generateStoryRetrievalPairs({} as CausalLM, {
        count: 1,
        seed: 0,
        resume,
      }).catch((caught: unknown) => caught);
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('resume');
    }
  });
});

describe('spladeVectors', () => {
  it('pools the second copy of each text (echo), padding excluded, as one text at a time', async () => {
    await useTrainBackend('cpu');
    const weights = randomWeights(3);
    const texts = [
      [4, 5, 6],
      [7, 8, 9, 10, 11, 12],
    ];
    const model = tfLlama(config, weights);
    const batched = tf.tidy(() => spladeVectors(model, texts).arraySync());
    model.dispose();
    texts.forEach((ids, b) => {
      const expected = referenceVector(weights, ids);
      batched[b].forEach((value, j) => expect(value).toBeCloseTo(expected[j], 5));
    });
    expect(batched[0].some(value => value > 0)).toBe(true);
  });
});

describe('trainSplade', () => {
  // Query i shares two tokens with document i and none with the others: learnable from in-batch negatives.
  const pairs: SpladePair[] = Array.from({ length: 6 }, (_, i) => ({
    query: [3 + 2 * i, 4 + 2 * i],
    document: [15, 3 + 2 * i, 15, 4 + 2 * i, 15],
  }));
  const options = {
    steps: 30,
    batchSize: 6,
    learningRate: 0.02,
    seed: 7,
    backend: 'cpu' as const,
    logEvery: 5,
  };

  it('lowers the in-batch ranking loss, deterministically by seed', async () => {
    const first = await trainSplade(config, randomWeights(1), pairs, options);
    const again = await trainSplade(config, randomWeights(1), pairs, options);
    expect(again.losses).toEqual(first.losses);
    const start = first.losses[0].loss;
    const end = first.losses.at(-1)?.loss ?? Number.NaN;
    expect(end).toBeLessThan(start * 0.5);
    expect(first.weights.wq).not.toEqual(randomWeights(1).wq);
  });

  it("trainable 'head': unties the classifier and trains it alone over frozen hidden states", async () => {
    const start = randomWeights(1);
    const result = await trainSplade(config, start, pairs, { ...options, trainable: 'head' });
    expect(result.config.tiedEmbeddings).toBe(false);
    expect(result.weights.wq).toEqual(start.wq);
    expect(result.weights.tokenEmbedding).toEqual(start.tokenEmbedding);
    expect(result.weights.wcls).not.toEqual(start.tokenEmbedding);
    expect(result.losses.at(-1)?.loss ?? Number.NaN).toBeLessThan(result.losses[0].loss * 0.5);
    // The head-trained model pools like any untied model: spladeVectors over it is what the loss saw.
    const model = tfLlama(result.config, result.weights);
    const vectors = tf.tidy(() =>
      spladeVectors(model, [pairs[0].query, pairs[0].document]).arraySync(),
    );
    model.dispose();
    const score = (a: number[], b: number[]) => a.reduce((sum, value, j) => sum + value * b[j], 0);
    expect(score(vectors[0], vectors[1])).toBeGreaterThan(0);
  });

  it('hard negatives join the batch: the loss ranks them, and training still lowers it', async () => {
    // Each query's negative shares one of its two tokens, as a BM25 negative would.
    const withNegatives = pairs.map(pair => ({ ...pair, negative: [15, pair.query[0], 15] }));
    const plain = await trainSplade(config, randomWeights(1), pairs, { ...options, steps: 5 });
    const hard = await trainSplade(config, randomWeights(1), withNegatives, {
      ...options,
      steps: 5,
    });
    expect(hard.losses[0].loss).not.toBeCloseTo(plain.losses[0].loss, 5);
    const trained = await trainSplade(config, randomWeights(1), withNegatives, options);
    expect(trained.losses.at(-1)?.loss ?? Number.NaN).toBeLessThan(trained.losses[0].loss * 0.5);
  });

  it('regularizerWarmupSteps ramps the FLOPS weight in: early losses are lower than at full weight', async () => {
    const heavy = { ...options, steps: 5, flopsDocument: 5, flopsQuery: 5, logEvery: 1 };
    const full = await trainSplade(config, randomWeights(1), pairs, heavy);
    const ramped = await trainSplade(config, randomWeights(1), pairs, {
      ...heavy,
      regularizerWarmupSteps: 100,
    });
    expect(ramped.losses[0].loss).toBeLessThan(full.losses[0].loss);
  });

  it("headInit 'lexical': the untrained vector of a text weighs its own tokens above the others", async () => {
    // Wide enough (dim ≥ vocab) that a linear classifier can tell every token apart.
    const wide = { ...config, dim: 16, hiddenDim: 32 };
    const v = wide.vocabSize;
    const d = wide.dim;
    let seed = 11;
    const uniform = (length: number, scale = 0.5) => seededUniform(length, scale, seed++);
    const weights: TfLlamaWeights = {
      tokenEmbedding: uniform(v * d, 1),
      rmsAtt: new Float32Array(d).fill(1),
      wq: uniform(d * d),
      wk: uniform((d / 2) * d),
      wv: uniform((d / 2) * d),
      wo: uniform(d * d),
      rmsFfn: new Float32Array(d).fill(1),
      w1: uniform(32 * d),
      w2: uniform(d * 32),
      w3: uniform(32 * d),
      rmsFinal: new Float32Array(d).fill(1),
    };
    const result = await trainSplade(wide, weights, pairs, {
      ...options,
      steps: 1,
      learningRate: 1e-9,
      trainable: 'head',
      headInit: 'lexical',
    });
    const model = tfLlama(result.config, result.weights);
    const vectors = tf.tidy(() =>
      spladeVectors(
        model,
        pairs.map(pair => pair.document),
      ).arraySync(),
    );
    model.dispose();
    // Token 15 is in every document: its IDF, hence its weight, is about 0, as BM25 would weigh it.
    pairs.forEach((pair, i) => {
      const own = new Set(pair.document.filter(j => j !== 15));
      const inside = Math.min(...[...own].map(j => vectors[i][j]));
      const outside = Math.max(...vectors[i].filter((_, j) => !own.has(j)));
      expect(inside).toBeGreaterThan(outside);
    });
  });

  it.each([
    { pairs: pairs.slice(0, 1), change: {}, argument: 'pairs' },
    { pairs: [{ query: [], document: [3] }, ...pairs], change: {}, argument: 'pairs' },
    { pairs: [{ query: [16], document: [3] }, ...pairs], change: {}, argument: 'pairs' },
    { pairs, change: { batchSize: 1 }, argument: 'batchSize' },
    { pairs, change: { flopsDocument: -1 }, argument: 'flopsDocument' },
    { pairs, change: { l1Query: Number.NaN }, argument: 'l1Query' },
    { pairs, change: { trainable: 'layers' as 'all' }, argument: 'trainable' },
    { pairs, change: { regularizerWarmupSteps: -5 }, argument: 'regularizerWarmupSteps' },
    { pairs, change: { headInit: 'random' as 'model' }, argument: 'headInit' },
    {
      pairs: [{ query: [3], document: [4], negative: [] }, ...pairs],
      change: {},
      argument: 'pairs',
    },
  ])('rejects bad $argument', async ({ pairs: given, change, argument }) => {
    const error = await trainSplade(config, randomWeights(1), given, {
      ...options,
      ...change,
    }).catch((caught: unknown) => caught);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});
