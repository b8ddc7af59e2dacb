import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError, InvalidArgumentError, UnsupportedCapabilityError } from '@decodekit/core';
import { REFERENCE_MODEL } from '@decodekit/conformance';
import { defaultMirrors, findKnownModel, readLlama2cCheckpoint } from '@decodekit/models/node';
import { assert, describe, expect, it } from 'vitest';
import { llamaPerplexity } from './llama-tf.js';
import { useTrainBackend } from './tf-backend.js';
import {
  findTorch,
  fineTuneLlamaTorch,
  llamaLogitsTorch,
  trainSpladeTorch,
} from './torch-runner.js';

/** stories260K's llama2.c checkpoint from the DECODEKIT_MODELS mirrors (vitest.config.ts sets them). */
function readCheckpoint() {
  const known = findKnownModel(REFERENCE_MODEL);
  assert(known, 'stories260K is a known model');
  const file = defaultMirrors()
    .map(mirror => join(mirror, known.mirrorPath, known.checkpoint.file))
    .find(path => existsSync(path));
  assert(file, 'stories260K.bin is in a DECODEKIT_MODELS mirror');
  return { ...readLlama2cCheckpoint(new Uint8Array(readFileSync(file)), file), file };
}

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
