/**
 * Sorted Fine-Tuning of stories260K (the S2D draft): trains exits 2, 3, 4 and 5 (the full model) together on
 * stories260K's own T = 1 generations, each exit toward the original model's soft distribution
 * (self-distillation, KL(p₀ ‖ q_exit)), stopped early on a validation set's full-model perplexity; prints each
 * exit's held-out perplexity before and after, and writes `weights/stories260K-soft.bin` (a llama2.c
 * checkpoint, all 5 layers) and `weights/stories260K-soft.json` (recipe, loss curve, validations,
 * perplexities). Deterministic by seed; data is cached under `<decodekit cache>/train` (and the Adam
 * checkpoint, for runs without early stopping: `S2D_SOFT_MAX_FULL_INCREASE=off`).
 *
 * Knobs (env): S2D_SOFT_EXITS, S2D_SOFT_LR, S2D_SOFT_FULL_WEIGHT, S2D_SOFT_EPOCHS, S2D_SOFT_DISTILL (α, 0 = hard
 * labels as the paper), S2D_SOFT_TRAIN_COUNT, S2D_SOFT_GREEDY_COUNT, S2D_SOFT_MAX_FULL_INCREASE, S2D_SOFT_TAG (suffix of the written
 * files, for experiments).
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/s2d/scripts/soft.measure.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import {
  defaultCacheDir,
  readLlama2cCheckpoint,
  writeLlama2cCheckpoint,
} from '@decodekit/models/node';
import {
  datasetKey,
  llamaPerplexity,
  loadOrGenerateDataset,
  sortedFineTune,
  useTrainBackend,
  type Dataset,
  type DatasetOptions,
} from '@decodekit/train';
import { expect, it } from 'vitest';
import { SOFT_CHECKPOINT, stories260KFiles } from './nested-exits.js';

// `S2D_SOFT_EXITS=5` is the control: plain fine-tuning of the full model on the same data.
const EXITS = (process.env.S2D_SOFT_EXITS ?? '2,3,4,5').split(',').map(Number);
// The full model's loss weighs more, so the shared weights stay near the full model's optimum.
const EXIT_WEIGHTS = EXITS.map((_, i) =>
  i === EXITS.length - 1 ? Number(process.env.S2D_SOFT_FULL_WEIGHT ?? 128) : 1,
);
// α: each exit learns the ORIGINAL model's soft distribution (KL(p₀ ‖ q_exit)) instead of the sampled tokens.
const DISTILLATION = Number(process.env.S2D_SOFT_DISTILL ?? 1);
// Early stopping: the run keeps the last validated weights whose full-model perplexity on VALIDATION is
// within this relative increase of the original's ('off': train every step, resumable from a checkpoint).
const MAX_FULL_INCREASE = process.env.S2D_SOFT_MAX_FULL_INCREASE ?? '0.015';
const TAG = process.env.S2D_SOFT_TAG ?? '';
const TRAIN: DatasetOptions = {
  count: Number(process.env.S2D_SOFT_TRAIN_COUNT ?? 200),
  length: 96,
  seed: 0,
  sampledPrefix: 94,
};
// Fresh data on the states a T = 0 draft meets: a short sampled prefix, then the model's greedy continuation.
const TRAIN_GREEDY: DatasetOptions = {
  count: Number(process.env.S2D_SOFT_GREEDY_COUNT ?? 200),
  length: 96,
  seed: 300_000,
  sampledPrefix: 16,
};
const HELD_OUT: DatasetOptions = { count: 40, length: 96, seed: 100_000, sampledPrefix: 94 };
// Early stopping reads this set, never HELD_OUT (the set the README reports).
const VALIDATION: DatasetOptions = { count: 40, length: 96, seed: 200_000, sampledPrefix: 94 };
const VALIDATE_EVERY = 5;
const LOOP = {
  epochs: Number(process.env.S2D_SOFT_EPOCHS ?? 2),
  batchSize: 16,
  learningRate: Number(process.env.S2D_SOFT_LR ?? 2e-4),
  seed: 0,
  backend: 'wasm' as const,
  logEvery: 5,
};

function sequencesOf(dataset: Dataset): number[][] {
  return Array.from({ length: dataset.offsets.length - 1 }, (_, i) =>
    Array.from(dataset.tokens.subarray(dataset.offsets[i], dataset.offsets[i + 1])),
  );
}

it('sorted fine-tuning of stories260K', async () => {
  const files = stories260KFiles();
  const { config, weights } = readLlama2cCheckpoint(new Uint8Array(readFileSync(files.checkpoint)));
  const dataDir = join(defaultCacheDir(), 'train');
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const train = [
    ...sequencesOf((await loadOrGenerateDataset(model, TRAIN, dataDir)).dataset),
    ...(TRAIN_GREEDY.count > 0
      ? sequencesOf((await loadOrGenerateDataset(model, TRAIN_GREEDY, dataDir)).dataset)
      : []),
  ];
  const heldOut = sequencesOf((await loadOrGenerateDataset(model, HELD_OUT, dataDir)).dataset);
  const validation = sequencesOf((await loadOrGenerateDataset(model, VALIDATION, dataDir)).dataset);
  await model.dispose();

  await useTrainBackend('wasm');
  const before = llamaPerplexity(config, weights, heldOut, EXITS);
  const began = performance.now();
  const result = await sortedFineTune(config, weights, train, {
    ...LOOP,
    steps: 1,
    exits: EXITS,
    exitWeights: EXIT_WEIGHTS,
    distillation: DISTILLATION,
    ...(MAX_FULL_INCREASE === 'off'
      ? {
          checkpoint: join(
            dataDir,
            `soft-${datasetKey(model.info.name, TRAIN)}-${datasetKey(model.info.name, TRAIN_GREEDY)}-e${LOOP.epochs}-lr${LOOP.learningRate}-w${EXIT_WEIGHTS.join('.')}${DISTILLATION > 0 ? `-kl${DISTILLATION}` : ''}.json`,
          ),
        }
      : {
          validation: {
            sequences: validation,
            every: VALIDATE_EVERY,
            maxFullIncrease: Number(MAX_FULL_INCREASE),
            patience: 2,
            onValidation: ({ step, perplexity }) =>
              console.log(
                `validation step ${step}: ${perplexity.map(p => p.toFixed(2)).join(' / ')}`,
              ),
          },
        }),
    onProgress: ({ step, steps, loss, positionsPerSecond }) =>
      console.log(
        `step ${step}/${steps} loss ${loss.toFixed(3)} (${positionsPerSecond.toFixed(0)} positions/s)`,
      ),
  });
  const seconds = (performance.now() - began) / 1000;
  console.log(`weights of step ${result.step}`);
  const after = llamaPerplexity(config, result.weights, heldOut, EXITS);

  console.log('\nheld-out perplexity (40 × 96-token T = 1 generations of stories260K)');
  console.log('| exit (layers) | before SoFT | after SoFT |');
  console.log('| --- | ---: | ---: |');
  EXITS.forEach((k, i) =>
    console.log(`| ${k} | ${before[i].toFixed(2)} | ${after[i].toFixed(2)} |`),
  );
  console.log(`trained in ${seconds.toFixed(0)} s`);

  writeFileSync(
    SOFT_CHECKPOINT.replace(/\.bin$/, `${TAG}.bin`),
    writeLlama2cCheckpoint({ config, weights: result.weights }),
  );
  writeFileSync(
    fileURLToPath(new URL(`../weights/stories260K-soft${TAG}.json`, import.meta.url)),
    `${JSON.stringify(
      {
        command:
          'npx vitest run --config packages/eval/measure.config.ts packages/strategies/s2d/scripts/soft.measure.ts',
        base: 'karpathy/tinyllamas/stories260K',
        exits: EXITS,
        exitWeights: EXIT_WEIGHTS,
        distillation: DISTILLATION,
        earlyStopping:
          MAX_FULL_INCREASE === 'off'
            ? null
            : { every: VALIDATE_EVERY, maxFullIncrease: Number(MAX_FULL_INCREASE), patience: 2 },
        data: {
          train: TRAIN,
          trainGreedy: TRAIN_GREEDY,
          heldOut: HELD_OUT,
          validation: VALIDATION,
        },
        loop: LOOP,
        step: result.step,
        validations: result.validations,
        perplexity: Object.fromEntries(
          EXITS.map((k, i) => [k, { before: before[i], after: after[i] }]),
        ),
        seconds: Math.round(seconds),
        losses: result.losses,
      },
      null,
      2,
    )}\n`,
  );
  // The full model stays within 2% of its perplexity.
  expect(after[EXITS.length - 1]).toBeLessThan(before[EXITS.length - 1] * 1.02);
});
