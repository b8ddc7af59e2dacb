// Fits SpecDec++ heads on llama2xs → stories260K (bench prompts 0–19), reports calibration on the held-out
// prompts 20–29, and measures τ and tokens/s against draft-model SpS with fixed draft lengths. Off by
// default (a few minutes): DECODEKIT_MEASURE=1 npx vitest run packages/strategies/specdec-pp/src/measure.int.test.ts
// With DECODEKIT_WRITE_HEAD=1 it rewrites src/__fixtures__/llama2xs-stories260K-t0.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, speculative } from '@decodekit/core';
import type { LoadedModel, Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, it } from 'vitest';
import {
  collectAcceptanceSamples,
  evaluateAcceptanceHead,
  fitAcceptanceHeadOnSamples,
  specdecPP,
} from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { prompt: string; max_tokens: number });
const train = prompts.slice(0, 20).map(p => p.prompt);
const heldOut = prompts.slice(20);

async function measure(target: LoadedModel, make: () => Strategy, temperature: number) {
  let tokens = 0;
  let forwards = 0;
  let decodeMs = 0;
  let drafted = 0;
  let accepted = 0;
  for (const [index, prompt] of heldOut.entries()) {
    const decoder = createDecoder({ model: target, tokenizer: target.tokenizer }).use(make());
    const { stats } = await decoder.generate(prompt.prompt, {
      maxTokens: prompt.max_tokens,
      temperature,
      seed: index,
    });
    tokens += stats.generatedTokens;
    forwards += stats.forwardPasses - 1;
    decodeMs += stats.decodeMs;
    drafted += stats.draftTokens ?? 0;
    accepted += stats.acceptedDraftTokens ?? 0;
  }
  return {
    tokPerS: Math.round((tokens / decodeMs) * 1000),
    tau: +(tokens / forwards).toFixed(2),
    draftPerStep: +(drafted / forwards).toFixed(2),
    acceptance: +(accepted / drafted).toFixed(3),
  };
}

describe.skipIf(!process.env.DECODEKIT_MEASURE)('specdec-pp measurements', () => {
  it('fits, calibrates and measures on llama2xs → stories260K', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = await loadModel('llama2xs');
    const rows: Record<string, unknown>[] = [];
    for (const temperature of [0, 0.8]) {
      const t0 = performance.now();
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
        prompts: heldOut.map(p => p.prompt),
        temperature,
        draftLength: 8,
        seed: 1000,
      });
      const collectMs = performance.now() - t0;
      const heads: Record<string, ReturnType<typeof fitAcceptanceHeadOnSamples>['head']> = {};
      for (const rejectionWeight of [1, 6]) {
        const t1 = performance.now();
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
            fitMs: Math.round(performance.now() - t1),
            iterations,
            brier: +calibration.brier.toFixed(4),
            baselineBrier: +calibration.baselineBrier.toFixed(4),
            auc: +calibration.auc.toFixed(3),
            ece: +calibration.ece.toFixed(3),
            reliability: calibration.reliability.map(
              b =>
                `[${b.from.toFixed(1)},${b.to.toFixed(1)}) n=${b.count} p=${b.meanPredicted.toFixed(2)} y=${b.meanObserved.toFixed(2)}`,
            ),
          }),
        );
        if (temperature === 0 && rejectionWeight === 6 && process.env.DECODEKIT_WRITE_HEAD) {
          writeFileSync(
            resolve(__dirname, '__fixtures__/llama2xs-stories260K-t0.json'),
            JSON.stringify(head.toJSON()) + '\n',
          );
        }
      }
      const configs: [string, () => Strategy][] = [];
      for (const length of [2, 4, 6]) {
        configs.push([
          `sps fixed ${length}`,
          () =>
            speculative({
              drafter: draftModel({
                model: draft,
                temperature,
                numAssistantTokens: length,
                schedule: 'constant',
              }),
              adaptive: false,
            }),
        ]);
      }
      for (const threshold of [0.3, 0.5, 0.7]) {
        for (const weight of [1, 6]) {
          configs.push([
            `specdec-pp w=${weight} h=${threshold}`,
            () => specdecPP({ model: draft, head: heads[weight], threshold, temperature }),
          ]);
        }
      }
      for (const [name, make] of configs)
        rows.push({ temperature, name, ...(await measure(target, make, temperature)) });
      console.table(rows.filter(r => r.temperature === temperature));
    }
    writeFileSync('/tmp/specdec-pp-measure.json', JSON.stringify(rows, null, 1));
  }, 1_200_000);
});
