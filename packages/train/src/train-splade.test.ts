import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { tfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { seededUniform } from './training-loop.js';
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

  it.each([
    { pairs: pairs.slice(0, 1), change: {}, argument: 'pairs' },
    { pairs: [{ query: [], document: [3] }, ...pairs], change: {}, argument: 'pairs' },
    { pairs: [{ query: [16], document: [3] }, ...pairs], change: {}, argument: 'pairs' },
    { pairs, change: { batchSize: 1 }, argument: 'batchSize' },
    { pairs, change: { flopsDocument: -1 }, argument: 'flopsDocument' },
    { pairs, change: { l1Query: Number.NaN }, argument: 'l1Query' },
    { pairs, change: { trainable: 'layers' as 'all' }, argument: 'trainable' },
  ])('rejects bad $argument', async ({ pairs: given, change, argument }) => {
    const error = await trainSplade(config, randomWeights(1), given, {
      ...options,
      ...change,
    }).catch((caught: unknown) => caught);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});
