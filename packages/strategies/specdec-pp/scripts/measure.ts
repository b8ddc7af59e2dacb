/**
 * Fits SpecDec++ heads on llama2xs → stories260K (bench/stories.jsonl prompts 0–19), reports calibration on
 * the held-out prompts 20–29, and measures τ and tokens/s on the held-out prompts against draft-model SpS
 * with fixed draft lengths (a benchmark). With DECODEKIT_WRITE_HEAD=1 it rewrites
 * src/__fixtures__/llama2xs-stories260K-t0.json.
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-specdec-pp...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/specdec-pp/scripts/measure.ts [--repeats N]
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { draftModel } from '@decodekit/strategy-draft-model';
import {
  collectAcceptanceSamples,
  evaluateAcceptanceHead,
  fitAcceptanceHeadOnSamples,
  specdecPP,
} from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const lines = readFileSync(
  fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url)),
  'utf8',
)
  .trim()
  .split('\n');
const train = lines.slice(0, 20).map(line => (JSON.parse(line) as { prompt: string }).prompt);
const heldOutFile = join(mkdtempSync(join(tmpdir(), 'specdec-pp-')), 'held-out.jsonl');
writeFileSync(heldOutFile, `${lines.slice(20).join('\n')}\n`);
const heldOut = lines.slice(20).map(line => (JSON.parse(line) as { prompt: string }).prompt);

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
for (const temperature of [0, 0.8]) {
  const started = performance.now();
  const trainSamples = await collectAcceptanceSamples({
    target,
    draft,
    prompts: train,
    temperature,
    draftLength: 8,
  });
  const testSamples = await collectAcceptanceSamples({
    target,
    draft,
    prompts: heldOut,
    temperature,
    draftLength: 8,
    seed: 1000,
  });
  const collectMs = performance.now() - started;
  const heads: Record<number, ReturnType<typeof fitAcceptanceHeadOnSamples>['head']> = {};
  for (const rejectionWeight of [1, 6]) {
    const fitStart = performance.now();
    const { head, iterations } = fitAcceptanceHeadOnSamples(trainSamples, {
      rejectionWeight,
      l2: 1e-2,
    });
    const calibration = evaluateAcceptanceHead(head, testSamples);
    heads[rejectionWeight] = head;
    console.log(
      JSON.stringify({
        temperature,
        rejectionWeight,
        train: trainSamples.length,
        heldOut: testSamples.length,
        collectMs: Math.round(collectMs),
        fitMs: Math.round(performance.now() - fitStart),
        iterations,
        brier: +calibration.brier.toFixed(4),
        baselineBrier: +calibration.baselineBrier.toFixed(4),
        auc: +calibration.auc.toFixed(3),
        ece: +calibration.ece.toFixed(3),
      }),
    );
    if (temperature === 0 && rejectionWeight === 6 && process.env.DECODEKIT_WRITE_HEAD) {
      writeFileSync(
        fileURLToPath(new URL('../src/__fixtures__/llama2xs-stories260K-t0.json', import.meta.url)),
        `${JSON.stringify(head.toJSON())}\n`,
      );
    }
  }
  const configs: Record<string, () => Strategy> = {};
  for (const length of [2, 4, 6]) {
    configs[`sps fixed ${length}`] = () =>
      speculative({
        drafter: draftModel({
          model: draft,
          temperature,
          numAssistantTokens: length,
          schedule: 'constant',
        }),
        adaptive: false,
      });
  }
  for (const threshold of [0.3, 0.5, 0.7]) {
    for (const weight of [1, 6]) {
      configs[`specdec-pp w=${weight} h=${threshold}`] = () =>
        specdecPP({ model: draft, head: heads[weight], threshold, temperature });
    }
  }
  await measureStrategies({
    model: target,
    strategies: Object.fromEntries(Object.entries(configs).map(([name, make]) => [name, make()])),
    promptFiles: [heldOutFile],
    temperatures: [temperature],
    repeats,
  });
}
await target.dispose();
await draft.dispose();
