import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { loadReferenceModel } from '@decodekit/conformance';
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from '@decodekit/models';
import { describe, expect, it } from 'vitest';
import { llamaPerplexity, tfLlama } from './llama-tf.js';
import { nestedLlama, sortedFineTune } from './sorted-fine-tune.js';
import { tf, useTrainBackend } from './tf-backend.js';

const checkpoint = () =>
  readLlama2cCheckpoint(
    new Uint8Array(
      readFileSync(
        join(
          process.env.DECODEKIT_MODELS ?? '../shared/models',
          'karpathy/tinyllamas/stories260K/stories260K.bin',
        ),
      ),
    ),
  );

const worstDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('early exits', () => {
  it('exit k equals the ONNX model with layers k.. skipped, and the exported k-layer model', async () => {
    await useTrainBackend('wasm');
    const { config, weights } = checkpoint();
    const reference = await loadReferenceModel();
    const ids = Int32Array.from(reference.tokenizer.encode('Once upon a time, there was a cat.'));
    const model = tfLlama(config, weights);
    const [exit2, exit3] = tf.tidy(() =>
      model
        .exitLogits(tf.tensor2d(ids, [1, ids.length], 'int32'), [2, 3])
        .map(logits => logits.dataSync() as Float32Array),
    );
    model.dispose();
    for (const [k, actual] of [
      [2, exit2],
      [3, exit3],
    ] as const) {
      const sequence = reference.createSequence();
      const skipLayers = Array.from({ length: config.numLayers - k }, (_, i) => k + i);
      const { logits } = await sequence.forward({ tokens: ids, skipLayers });
      sequence.dispose();
      expect(actual.length).toBe(logits.length);
      expect(worstDifference(actual, logits)).toBeLessThan(1e-3);
    }
    // The nested sub-model as a model of its own, through the llama2.c writer and reader.
    const nested = readLlama2cCheckpoint(writeLlama2cCheckpoint(nestedLlama(config, weights, 2)));
    expect(nested.config.numLayers).toBe(2);
    const small = tfLlama(nested.config, nested.weights);
    const alone = tf.tidy(
      () => small.logits(tf.tensor2d(ids, [1, ids.length], 'int32')).dataSync() as Float32Array,
    );
    small.dispose();
    expect(worstDifference(alone, exit2)).toBeLessThan(1e-5);
  });

  it('validates exits and layers', () => {
    const { config, weights } = checkpoint();
    expect(() => nestedLlama(config, weights, 0)).toThrow(InvalidArgumentError);
    expect(() => nestedLlama(config, weights, 6)).toThrow(InvalidArgumentError);
    for (const exits of [[], [0], [6], [2, 2], [2.5]])
      expect(() => llamaPerplexity(config, weights, [[1, 2, 3]], exits)).toThrow(/exits/);
  });
});

describe('sortedFineTune', () => {
  it('lowers every trained exit’s loss, deterministically by seed', async () => {
    const { config, weights } = checkpoint();
    const sequences = [
      [1, 400, 300, 200, 100, 50, 25, 12, 6, 3],
      [1, 7, 70, 170, 270, 370, 470, 17, 117, 217],
    ];
    const options = {
      steps: 8,
      batchSize: 2,
      learningRate: 0.01,
      seed: 3,
      backend: 'wasm' as const,
      logEvery: 4,
      exits: [2, 3, 5],
    };
    await useTrainBackend('wasm');
    const before = llamaPerplexity(config, weights, sequences, options.exits);
    const first = await sortedFineTune(config, weights, sequences, options);
    const after = llamaPerplexity(config, first.weights, sequences, options.exits);
    after.forEach((perplexity, i) => expect(perplexity).toBeLessThan(before[i] * 0.8));
    const again = await sortedFineTune(config, weights, sequences, options);
    expect(again.losses).toEqual(first.losses);
    await expect(
      sortedFineTune(config, weights, sequences, { ...options, exits: [7] }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      sortedFineTune(config, weights, sequences, { ...options, exitWeights: [1, 0, 1] }),
    ).rejects.toThrow(/exitWeights/);
    await expect(
      sortedFineTune(config, weights, sequences, { ...options, exitWeights: [1, 1] }),
    ).rejects.toThrow(/exitWeights/);
  }, 60_000);
});
