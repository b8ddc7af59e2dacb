import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError, InvalidArgumentError, UnsupportedCapabilityError } from '@decodekit/core';
import { readReferenceCheckpoint } from './__fixtures__/reference-checkpoint.js';
import { describe, expect, it } from 'vitest';
import type { Dataset } from './dataset.js';
import { llamaPerplexity, tfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import {
  findTorch,
  fineTuneLlamaTorch,
  llamaLogitsTorch,
  trainLudTorch,
  trainSpladeTorch,
} from './torch-runner.js';
import { seededUniform } from './training-loop.js';
import { lexicalUnits, ludLayout, trainLud } from './train-lud.js';

const readCheckpoint = readReferenceCheckpoint;

/** llama2.c run.c's own logits of "Once upon a time" (the shared golden file), an implementation apart from ours. */
function goldenLogits(file: string): { ids: number[]; logits: number[][] } {
  const golden = JSON.parse(
    readFileSync(
      join(file, '../../../../golden/golden_stories260K_logits_once_upon_a_time.json'),
      'utf8',
    ),
  ) as { input_ids: number[]; logits: number[][] };
  return { ids: golden.input_ids, logits: golden.logits };
}

/**
 * A toy LUD task (as train-lud.test.ts): sequences count up from a start token, so every token after the first
 * is certain, and the "base model" (hidden states × LM head) knows it, the surer the larger `confidence`.
 */
function countingTask(confidence: number) {
  const config: TfLlamaConfig = {
    vocabSize: 12,
    dim: 8,
    hiddenDim: 16,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 2,
    contextLength: 32,
    tiedEmbeddings: true,
  };
  const weights: TfLlamaWeights = {
    tokenEmbedding: seededUniform(12 * 8, 0.5, 11),
    rmsAtt: Float32Array.from({ length: 8 }, () => 1),
    wq: seededUniform(64, 0.3, 12),
    wk: seededUniform(64, 0.3, 13),
    wv: seededUniform(64, 0.3, 14),
    wo: seededUniform(64, 0.3, 15),
    rmsFfn: Float32Array.from({ length: 8 }, () => 1),
    w1: seededUniform(128, 0.3, 16),
    w2: seededUniform(128, 0.3, 17),
    w3: seededUniform(128, 0.3, 18),
    rmsFinal: Float32Array.from({ length: 8 }, () => 1),
  };
  const count = 20;
  const length = 12;
  const tokens: number[] = [];
  for (let s = 0; s < count; s++) {
    tokens.push(1);
    for (let t = 1; t < length; t++) tokens.push(3 + ((s + t) % 9));
  }
  const lmHead = new Float32Array(12 * 8);
  for (let v = 0; v < 12; v++) lmHead[v * 8 + (v % 8)] = v < 8 ? 1 : -1;
  const hidden = new Float32Array(tokens.length * 8);
  tokens.forEach((_, r) => {
    const next = tokens[r + 1] ?? 0;
    hidden[r * 8 + (next % 8)] = next < 8 ? confidence : -confidence;
  });
  const dataset: Dataset = {
    model: 'toy',
    hiddenSize: 8,
    options: { count, length, seed: 0, sampledPrefix: 0 },
    offsets: Int32Array.from({ length: count + 1 }, (_, s) => s * length),
    tokens: Int32Array.from(tokens),
    hidden,
  };
  return { config, weights, dataset, lmHead };
}

const torch = findTorch();
// .ci/run installs Debian's python3-torch and sets DECODEKIT_PYTHON; elsewhere these tests say why they skip.
const withTorch = describe.skipIf(!torch);

describe('PyTorch bridge without PyTorch', () => {
  it('a Python without torch is a typed error that says how to get one', async () => {
    const { config, weights } = readCheckpoint();
    await expect(
      fineTuneLlamaTorch(config, weights, [[1, 2, 3]], {
        steps: 1,
        batchSize: 1,
        learningRate: 1e-3,
        seed: 0,
        python: 'decodekit-no-such-python',
      }),
    ).rejects.toSatisfy(
      error => UnsupportedCapabilityError.isInstance(error) && /python3-torch/.test(error.message),
    );
  });

  it('bad options fail before any process starts', async () => {
    const { config, weights } = readCheckpoint();
    const options = { steps: 1, batchSize: 1, learningRate: 1e-3, seed: 0 };
    await expect(fineTuneLlamaTorch(config, weights, [[1, 600]], options)).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
    await expect(
      fineTuneLlamaTorch(config, weights, [[1, 2]], { ...options, clipGradNorm: -1 }),
    ).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(
      trainSpladeTorch(config, weights, [{ query: [5], document: [6] }], {
        ...options,
        batchSize: 2,
      }),
    ).rejects.toSatisfy(InvalidArgumentError.isInstance);
  });
});

withTorch(`PyTorch bridge (${torch?.python ?? 'no torch'} ${torch?.version ?? ''})`, () => {
  it('its Llama gives llama2.c run.c’s logits for stories260K (< 1e-4)', async () => {
    const { config, weights, file } = readCheckpoint();
    const golden = goldenLogits(file);
    const logits = await llamaLogitsTorch(config, weights, golden.ids, { threads: 1 });
    const vocab = config.vocabSize;
    expect(logits.length).toBe(golden.ids.length * vocab);
    let worst = 0;
    golden.logits.forEach((row, t) =>
      row.forEach((value, j) => {
        worst = Math.max(worst, Math.abs(logits[t * vocab + j] - value));
      }),
    );
    expect(worst).toBeLessThan(1e-4);
  });

  it('its tree layout gives tfLlama’s LUD layout logits for stories260K (< 1e-4)', async () => {
    const { config, weights } = readCheckpoint();
    const sequence = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
    const units = lexicalUnits([0, 0.2, 0.95, 0.99, 0.3, 0.91, 0.1, 0.97, 0.2, 0.5], 0.9, 4);
    const layout = ludLayout(sequence, units, 3, 0);
    const rows = layout.tokens.length;
    const logits = await llamaLogitsTorch(config, weights, Array.from(layout.tokens), {
      parents: layout.parents,
    });
    await useTrainBackend('cpu');
    const model = tfLlama(config, weights);
    const expected = tf.tidy(
      () =>
        model
          .logits(tf.tensor2d(layout.tokens, [1, rows], 'int32'), { parents: layout.parents })
          .dataSync() as Float32Array,
    );
    model.dispose();
    expect(logits.length).toBe(rows * config.vocabSize);
    let worst = 0;
    expected.forEach((value, i) => (worst = Math.max(worst, Math.abs(logits[i] - value))));
    expect(worst).toBeLessThan(1e-4);
    await expect(llamaLogitsTorch(config, weights, [1, 2], { parents: [-1, 1] })).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
  });

  it('LUD training has trainLud’s loss and learns the placeholders', async () => {
    // A base model sure of each next token but not certain (p ≈ 0.6): the real rows' targets are soft.
    const { config, weights, dataset, lmHead } = countingTask(3);
    const options = {
      batchSize: 16, // the whole training split (holdout 0.2 of 20): the batch order cannot differ
      learningRate: 0.05,
      seed: 3,
      logEvery: 1,
      placeholders: 2,
      placeholderTokenId: 2,
      holdout: 0.2,
    };
    const tfRun = await trainLud(
      dataset,
      lmHead,
      { config, weights },
      {
        ...options,
        steps: 2,
        backend: 'cpu',
      },
    );
    const torchRun = await trainLudTorch(
      dataset,
      lmHead,
      { config, weights },
      {
        ...options,
        steps: 2,
        threads: 1,
        evaluationBackend: 'cpu',
      },
    );
    // The same loss on the same batch before any update, and after one identical Adam step.
    expect(torchRun.losses[0].loss).toBeCloseTo(tfRun.losses[0].loss, 4);
    expect(torchRun.losses[1].loss).toBeCloseTo(tfRun.losses[1].loss, 3);
    expect(torchRun.units).toEqual(tfRun.units);
    expect(torchRun.heldOut.perplexityBefore).toBe(tfRun.heldOut.perplexityBefore);

    // A base model certain of each next token: units of 3 tokens, as in train-lud.test.ts.
    const certain = countingTask(12);
    const trained = await trainLudTorch(
      certain.dataset,
      certain.lmHead,
      { config, weights },
      {
        ...options,
        batchSize: 4,
        steps: 60,
        logEvery: 10,
        threads: 1,
      },
    );
    expect(trained.units.meanLength).toBeGreaterThan(2.5);
    expect(trained.losses.at(-1)?.loss).toBeLessThan(trained.losses[0].loss * 0.5);
    // Chance is 1/9.
    expect(Math.min(...trained.heldOut.unitAccuracy)).toBeGreaterThan(0.4);
    expect(trained.heldOut.perplexityAfter).toBeLessThan(trained.heldOut.perplexityBefore);
  });

  it('fine-tuning lowers the loss on its sequences, deterministically by seed', async () => {
    const { config, weights } = readCheckpoint();
    const sequences = [
      [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315],
      [1, 274, 287, 381, 261, 268, 388, 426, 338, 391, 266, 267],
    ];
    const options = {
      steps: 12,
      batchSize: 2,
      learningRate: 1e-2,
      seed: 3,
      logEvery: 4,
      threads: 1,
    };
    const progress: number[] = [];
    const first = await fineTuneLlamaTorch(config, weights, sequences, {
      ...options,
      onProgress: ({ step }) => progress.push(step),
    });
    const again = await fineTuneLlamaTorch(config, weights, sequences, options);
    expect(progress).toEqual([4, 8, 12]);
    expect(first.losses.map(l => l.step)).toEqual([4, 8, 12]);
    expect(Array.from(again.weights.wq)).toEqual(Array.from(first.weights.wq));
    // Scored by the TensorFlow.js model: the two implementations agree on what was learned.
    await useTrainBackend('cpu');
    const [before] = llamaPerplexity(config, weights, sequences);
    const [after] = llamaPerplexity(config, first.weights, sequences);
    expect(after).toBeLessThan(before * 0.8);
    expect(first.weights.tokenEmbedding).not.toEqual(weights.tokenEmbedding);
  });

  it('SPLADE training runs the ranking loss and can untie the classifier', async () => {
    const { config, weights } = readCheckpoint();
    const pairs = [
      { query: [274, 287, 381], document: [261, 268, 388, 426, 338] },
      { query: [403, 407, 261], document: [378, 432, 383, 286, 261] },
      { query: [391, 266, 267], document: [376, 298, 315, 421], negative: [261, 268, 388] },
    ];
    const result = await trainSpladeTorch(config, weights, pairs, {
      steps: 6,
      batchSize: 3,
      learningRate: 1e-3,
      seed: 0,
      logEvery: 3,
      untie: true,
      threads: 1,
    });
    expect(result.config.tiedEmbeddings).toBe(false);
    expect(result.weights.wcls?.length).toBe(config.vocabSize * config.dim);
    expect(result.losses.map(l => l.step)).toEqual([3, 6]);
    expect(result.losses.every(l => Number.isFinite(l.loss))).toBe(true);
  });

  it('an abort kills the run and rejects with AbortedError', async () => {
    const { config, weights } = readCheckpoint();
    const controller = new AbortController();
    const run = fineTuneLlamaTorch(config, weights, [[1, 403, 407, 261, 378]], {
      steps: 1_000_000,
      batchSize: 1,
      learningRate: 1e-4,
      seed: 0,
      logEvery: 1,
      threads: 1,
      onProgress: ({ step }) => {
        if (step === 3) controller.abort(new Error('enough'));
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toSatisfy(AbortedError.isInstance);
  });
});
