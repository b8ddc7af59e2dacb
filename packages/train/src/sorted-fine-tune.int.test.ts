import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { loadReferenceModel } from '@decodekit/conformance';
import { readLlama2cCheckpoint, writeLlama2cCheckpoint } from '@decodekit/models';
import { describe, expect, it } from 'vitest';
import { llamaPerplexity, tfLlama, type TfLlamaWeights } from './llama-tf.js';
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
    await expect(
      sortedFineTune(config, weights, sequences, { ...options, distillation: 1.5 }),
    ).rejects.toThrow(/distillation/);
    const validation = { sequences, every: 2, maxFullIncrease: 0.02 };
    await expect(
      sortedFineTune(config, weights, sequences, { ...options, validation, checkpoint: 'x.json' }),
    ).rejects.toThrow(/checkpoint/);
    await expect(
      sortedFineTune(config, weights, sequences, {
        ...options,
        validation: { ...validation, every: 0 },
      }),
    ).rejects.toThrow(InvalidArgumentError);
  }, 60_000);

  // Natural text (the drift a training run causes shows on it; random token strings are all equally unlikely).
  const encode = async (texts: string[]) => {
    const { tokenizer } = await loadReferenceModel();
    return texts.map(text => [1, ...tokenizer.encode(text)].slice(0, 24));
  };
  const options = {
    steps: 8,
    batchSize: 2,
    learningRate: 0.003,
    seed: 3,
    backend: 'wasm' as const,
    logEvery: 4,
    exits: [2, 5],
    exitWeights: [1, 8],
  };

  /** Mean KL(full model of `teacher` ‖ exit k of `student`) over every position of `sequences` (nats). */
  const exitKl = (
    sequences: number[][],
    teacher: TfLlamaWeights,
    student: TfLlamaWeights,
    k: number,
  ) => {
    const { config } = checkpoint();
    const a = tfLlama(config, teacher);
    const b = tfLlama(config, student);
    const kl = tf.tidy(() => {
      const total = sequences.map(sequence => {
        const ids = tf.tensor2d(sequence, [1, sequence.length], 'int32');
        const logP = tf.logSoftmax(a.logits(ids));
        const logQ = tf.logSoftmax(b.exitLogits(ids, [k])[0]);
        return tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1));
      });
      return (tf.addN(total).dataSync() as Float32Array)[0] / sequences.length;
    });
    a.dispose();
    b.dispose();
    return kl;
  };

  it('with self-distillation the exits learn the starting model’s distribution and the full model stays there', async () => {
    const { config, weights } = checkpoint();
    const sequences = await encode([
      'Once upon a time, there was a little girl named Lily. She loved to play outside.',
      'Tom had a big red ball. One day, the ball rolled into the garden and he ran after it.',
    ]);
    await useTrainBackend('wasm');
    const before = llamaPerplexity(config, weights, sequences, options.exits);
    const hard = await sortedFineTune(config, weights, sequences, options);
    const soft = await sortedFineTune(config, weights, sequences, { ...options, distillation: 1 });
    const hardAfter = llamaPerplexity(config, hard.weights, sequences, options.exits);
    const kl2 = [weights, hard.weights, soft.weights].map(w => exitKl(sequences, weights, w, 2));
    const kl5 = [hard.weights, soft.weights].map(w => exitKl(sequences, weights, w, 5));
    // Hard labels pull the full model onto the two sequences (away from p₀); the KL target keeps it near p₀,
    // and teaches exit 2 p₀ better than the labels do.
    expect(hardAfter[1]).toBeLessThan(before[1] * 0.8);
    expect(kl5[1]).toBeLessThan(kl5[0] / 4);
    expect(kl2[2]).toBeLessThan(Math.min(kl2[0] * 0.5, kl2[1]));
  }, 60_000);

  it('early stopping returns the last validated weights within the full model’s perplexity limit', async () => {
    const { config, weights } = checkpoint();
    // Hard labels on token strings that are not stories push the stories' perplexity up: the run stops.
    const sequences = [
      [1, 400, 300, 200, 100, 50, 25, 12, 6, 3],
      [1, 7, 70, 170, 270, 370, 470, 17, 117, 217],
    ];
    const heldOut = await encode([
      'Lily wanted to bake a cake for her mom. She got flour, eggs and milk.',
      'The sun was shining and the birds were singing in the park.',
    ]);
    await useTrainBackend('wasm');
    const validation = { sequences: heldOut, every: 1, maxFullIncrease: 0.05, patience: 1 };
    const result = await sortedFineTune(config, weights, sequences, {
      ...options,
      learningRate: 0.0002,
      validation,
    });
    const [start, ...rest] = result.validations;
    expect(start.step).toBe(0);
    const limit = start.perplexity[1] * 1.05;
    expect(rest.at(-1)?.perplexity[1]).toBeGreaterThan(limit);
    expect(rest.at(-1)?.step).toBeLessThan(options.steps);
    // Measured: the full model's held-out perplexity 8.68 → 8.96 after 3 steps (kept) → 9.35 after 4 (stop).
    expect(result.step).toBeGreaterThan(0);
    const chosen = result.validations.find(record => record.step === result.step);
    expect(chosen?.perplexity[1]).toBeLessThanOrEqual(limit);
    expect(llamaPerplexity(config, result.weights, heldOut, options.exits)[1]).toBeCloseTo(
      chosen?.perplexity[1] ?? Number.NaN,
      4,
    );
  }, 60_000);
});
