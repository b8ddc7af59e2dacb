// Compares PPD training variants on stories260K by held-out top-k accuracy per depth (the numbers behind
// packages/strategies/ppd/README.md's "Training variants" table).
// Run: npx vitest run --config packages/eval/measure.config.ts packages/train/scripts/ppd-variants.measure.ts
// PPD_VARIANTS: JSON list of TrainPpdOptions overrides, each with a "name" (default: the list below);
// PPD_STEPS / PPD_COUNT / PPD_LENGTH override steps, sequences and tokens per sequence.
// Data: the target's own generations only (BOS, 16 tokens sampled at T = 1, then its greedy continuation),
// the last 10% of the sequences held out; never the bench prompts.
import { loadReferenceModel } from '@decodekit/conformance';
import { it } from 'vitest';
import { readReferenceCheckpoint } from '../src/__fixtures__/reference-checkpoint.js';
import { generateDataset } from '../src/dataset.js';
import { trainPpd, type TrainPpdOptions } from '../src/train-ppd.js';

const STEPS = Number(process.env.PPD_STEPS ?? 100);
const COUNT = Number(process.env.PPD_COUNT ?? 64);
const LENGTH = Number(process.env.PPD_LENGTH ?? 128);
type Variant = Partial<TrainPpdOptions> & { name: string };
const VARIANTS: Variant[] = process.env.PPD_VARIANTS
  ? (JSON.parse(process.env.PPD_VARIANTS) as Variant[])
  : [
      { name: 'm=1 random constant (before)', batchSize: 8, cutsPerSequence: 16 },
      {
        name: 'm=1 tokens cosine',
        batchSize: 8,
        cutsPerSequence: 16,
        init: 'tokens',
        schedule: 'cosine',
      },
      {
        name: 'm=4 tokens cosine',
        batchSize: 8,
        cutsPerSequence: 4,
        init: 'tokens',
        schedule: 'cosine',
        virtualTokens: 4,
      },
    ];

it('PPD variants: held-out top-k accuracy per depth', async () => {
  const { config, weights } = readReferenceCheckpoint();
  const model = await loadReferenceModel();
  const dataset = await generateDataset(model, {
    count: COUNT,
    length: LENGTH,
    seed: 0,
    sampledPrefix: 16,
  });
  const rows: string[] = [];
  for (const { name, ...overrides } of VARIANTS) {
    const began = performance.now();
    const result = await trainPpd(
      dataset,
      { shape: config, weights },
      {
        steps: STEPS,
        batchSize: 2,
        learningRate: 0.1,
        seed: 0,
        backend: 'wasm',
        logEvery: 50,
        onProgress: ({ step, loss }) =>
          process.stdout.write(`${name}: step ${step} loss ${loss.toFixed(3)}\n`),
        ...overrides,
      },
    );
    const seconds = (performance.now() - began) / 1000;
    const cells = result.accuracy.slice(1).map(
      row =>
        `${row[0].toFixed(3)} / ${row
          .slice(0, 8)
          .reduce((a, b) => a + b, 0)
          .toFixed(3)}`,
    );
    const row = `| ${name} | ${STEPS} | ${result.losses.at(-1)?.loss.toFixed(3)} | ${cells.join(' | ')} | ${seconds.toFixed(0)} s |`;
    process.stdout.write(`${row}\n`);
    rows.push(row);
  }
  process.stdout.write(
    `\n| variant | steps | final loss | [P1] top-1 / top-8 | [P2] | [P3] | time |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n${rows.join('\n')}\n`,
  );
});
