import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReferenceModel } from '@decodekit/conformance';
import { readLlama2cCheckpoint } from '@decodekit/models';
import { describe, expect, it } from 'vitest';
import { fineTuneLlama, tfLlama } from './llama-tf.js';
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

describe('tfLlama', () => {
  it("computes stories260K's logits as the ONNX model does", async () => {
    await useTrainBackend('wasm');
    const { config, weights } = checkpoint();
    const reference = await loadReferenceModel();
    const ids = reference.tokenizer.encode('Once upon a time, there was a little girl named Lily.');
    const sequence = reference.createSequence();
    const { logits: expected } = await sequence.forward({ tokens: Int32Array.from(ids) });
    sequence.dispose();
    const model = tfLlama({ ...config }, weights);
    const actual = tf.tidy(() =>
      model.logits(tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32')).dataSync(),
    );
    model.dispose();
    let worst = 0;
    for (let i = 0; i < expected.length; i++)
      worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
    expect(actual.length).toBe(expected.length);
    expect(worst).toBeLessThan(1e-3);
  });

  it('fine-tunes: the loss on the trained sequences falls, deterministically by seed', async () => {
    const { config, weights } = checkpoint();
    const sequences = [
      [1, 400, 300, 200, 100, 50, 25, 12, 6, 3],
      [1, 7, 70, 170, 270, 370, 470, 17, 117, 217],
    ];
    const options = {
      steps: 12,
      batchSize: 2,
      learningRate: 0.01,
      seed: 5,
      backend: 'wasm' as const,
      logEvery: 4,
    };
    const first = await fineTuneLlama(config, weights, sequences, options);
    expect(first.losses.at(-1)?.loss).toBeLessThan(first.losses[0].loss * 0.7);
    expect(first.weights.wq).not.toEqual(weights.wq);
    const again = await fineTuneLlama(config, weights, sequences, options);
    expect(again.losses).toEqual(first.losses);
    await expect(fineTuneLlama(config, weights, [[1]], options)).rejects.toThrow(/2\.\.512 tokens/);
  }, 60_000);
});
