/**
 * Sorted Fine-Tuning of stories260K (the S2D draft): trains exits 2, 3, 4 and 5 (the full model) together on
 * stories260K's own T = 1 generations, prints each exit's held-out perplexity before and after, and writes
 * `weights/stories260K-soft.bin` (a llama2.c checkpoint, all 5 layers) and `weights/stories260K-soft.json`
 * (recipe, loss curve, perplexities). Deterministic by seed; data and the Adam checkpoint are cached under
 * `<decodekit cache>/train`.
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
  i === EXITS.length - 1 ? Number(process.env.S2D_SOFT_FULL_WEIGHT ?? 16) : 1,
);
const TAG = process.env.S2D_SOFT_TAG ?? '';
const TRAIN: DatasetOptions = { count: 200, length: 96, seed: 0, sampledPrefix: 94 };
const HELD_OUT: DatasetOptions = { count: 40, length: 96, seed: 100_000, sampledPrefix: 94 };
const LOOP = {
  epochs: Number(process.env.S2D_SOFT_EPOCHS ?? 4),
  batchSize: 16,
  learningRate: Number(process.env.S2D_SOFT_LR ?? 1e-4),
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
  const train = sequencesOf((await loadOrGenerateDataset(model, TRAIN, dataDir)).dataset);
  const heldOut = sequencesOf((await loadOrGenerateDataset(model, HELD_OUT, dataDir)).dataset);
  await model.dispose();

  await useTrainBackend('wasm');
  const before = llamaPerplexity(config, weights, heldOut, EXITS);
  const began = performance.now();
  const result = await sortedFineTune(config, weights, train, {
    ...LOOP,
    steps: 1,
    exits: EXITS,
    exitWeights: EXIT_WEIGHTS,
    checkpoint: join(
      dataDir,
      `soft-${datasetKey(model.info.name, TRAIN)}-e${LOOP.epochs}-lr${LOOP.learningRate}-w${EXIT_WEIGHTS.join('.')}.json`,
    ),
    onProgress: ({ step, steps, loss, positionsPerSecond }) =>
      console.log(
        `step ${step}/${steps} loss ${loss.toFixed(3)} (${positionsPerSecond.toFixed(0)} positions/s)`,
      ),
  });
  const seconds = (performance.now() - began) / 1000;
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
        data: { train: TRAIN, heldOut: HELD_OUT },
        loop: LOOP,
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
