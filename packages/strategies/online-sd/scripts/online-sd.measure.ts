/**
 * Online Speculative Decoding's claim, scaled down: llama2xs drafts for stories260K over a stream of 100
 * seeded prompts (each the first 16 tokens of a T = 1 sample of stories260K, seeds 10,000..10,099), 128 new
 * tokens each, at T = 0 and 0.8. A frozen draft against drafts distilled online (`onlineDistiller`: every 8
 * generations, forward KL, Adam at a constant learning rate) and hot-swapped in. Prints, per window of 10
 * prompts, the acceptance rate (accepted / proposed draft tokens) and the paper's α (mean Σ_x min(p, q) over
 * the verified draft rows, `OnlineSdRecord.alphaSum / verifiedRows`).
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/online-sd/scripts/online-sd.measure.ts
 *
 * `ONLINE_SD_RECIPES` picks recipes as `lr:steps:divergence[:positions[:lossTemperature]]` (comma-separated;
 * positions `step-starts` (default, the official trainer's) | `rejected` | `verified`; lossTemperature a
 * number (default 1, the official's) or `decode` for the decoding temperature). Default
 * `0.0001:1:forward:step-starts,0.0003:1:forward:verified`: the official online step, then every verified
 * position at a larger step. `ONLINE_SD_TEMPERATURES` the temperatures (default `0,0.8`),
 * `ONLINE_SD_PROMPTS` the stream length (default 100, a multiple of 10). The default run takes about 25
 * minutes on a busy 2-core machine (mostly the tfjs training).
 */
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { onlineDistiller, type DistillDivergence, type DistillPositions } from '@decodekit/train';
import { expect, it } from 'vitest';
import { onlineSd, type OnlineSpeculativeStrategy } from '../src/index.js';
import { llama2xsCheckpoint, llamaDraftLoader } from './llama-draft.js';

const PROMPTS = Number(process.env.ONLINE_SD_PROMPTS ?? 100);
const PROMPT_TOKENS = 16;
const MAX_TOKENS = 128;
const WINDOW = 10;
const TEMPERATURES = (process.env.ONLINE_SD_TEMPERATURES ?? '0,0.8').split(',').map(Number);
const RECIPES = (
  process.env.ONLINE_SD_RECIPES ?? '0.0001:1:forward:step-starts,0.0003:1:forward:verified'
)
  .split(',')
  .map(recipe => {
    const [lr, steps, divergence, positions = 'step-starts', lossTemperature = '1'] =
      recipe.split(':');
    return {
      learningRate: Number(lr),
      stepsPerUpdate: Number(steps),
      divergence: divergence as DistillDivergence,
      positions: positions as DistillPositions,
      /** `decode`: the decoding temperature (1 at T = 0). */
      lossTemperature,
    };
  });

interface Run {
  accepted: number[];
  proposed: number[];
  alphaSum: number[];
  verifiedRows: number[];
  forwards: number[];
  emitted: number[];
  tokens: number[][];
  seconds: number;
}

async function prompts(target: LoadedModel): Promise<number[][]> {
  const bos = target.info.bosTokenId ?? 1;
  const out: number[][] = [];
  for (let i = 0; i < PROMPTS; i++) {
    const { tokens } = await createDecoder({ model: target }).generate(
      { tokens: [bos] },
      { maxTokens: PROMPT_TOKENS, temperature: 1, seed: 10_000 + i },
    );
    out.push([bos, ...tokens]);
  }
  return out;
}

async function stream(
  target: LoadedModel,
  strategy: OnlineSpeculativeStrategy,
  stream: number[][],
  temperature: number,
): Promise<Run> {
  const run: Run = {
    accepted: [],
    proposed: [],
    alphaSum: [],
    verifiedRows: [],
    forwards: [],
    emitted: [],
    tokens: [],
    seconds: 0,
  };
  const began = performance.now();
  for (const [index, prompt] of stream.entries()) {
    const { tokens, stats } = await createDecoder({ model: target })
      .use(strategy)
      .generate({ tokens: prompt }, { maxTokens: MAX_TOKENS, temperature, seed: index });
    const record = strategy.drafter.history.at(-1);
    run.alphaSum.push(record?.alphaSum ?? 0);
    run.verifiedRows.push(record?.verifiedRows ?? 0);
    run.accepted.push(stats.acceptedDraftTokens ?? 0);
    run.proposed.push(stats.draftTokens ?? 0);
    run.forwards.push(stats.forwardPasses);
    run.emitted.push(tokens.length);
    run.tokens.push(tokens);
  }
  await strategy.drafter.settle();
  run.seconds = (performance.now() - began) / 1000;
  return run;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const rate = (run: Run, from: number, to: number) =>
  sum(run.accepted.slice(from, to)) / Math.max(1, sum(run.proposed.slice(from, to)));
/** The paper's α: mean Σ_x min(p, q) over the verified draft rows. */
const alpha = (run: Run, from: number, to: number) =>
  sum(run.alphaSum.slice(from, to)) / Math.max(1, sum(run.verifiedRows.slice(from, to)));
const tau = (run: Run) => sum(run.emitted) / Math.max(1, sum(run.forwards));

it('online-sd: acceptance over a stream of 100 prompts, frozen vs distilled draft', async () => {
  const target = await loadModel('karpathy/tinyllamas/stories260K');
  const frozenDraft = await loadModel('llama2xs');
  const base = llama2xsCheckpoint();
  const stream100 = await prompts(target);
  const windows = Array.from({ length: PROMPTS / WINDOW }, (_, w) => w);
  const header = [
    `| T | draft | ${windows.map(w => `${w * WINDOW + 1}–${(w + 1) * WINDOW}`).join(' | ')} | all | last ${PROMPTS / 2} | τ | s |`,
    `| --- | --- | ${windows.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: |`,
  ];
  const lines = [...header];
  const alphaLines = [...header];
  const row = (
    metric: (run: Run, from: number, to: number) => number,
    temperature: number,
    name: string,
    run: Run,
  ) =>
    `| ${temperature} | ${name} | ${windows
      .map(w => metric(run, w * WINDOW, (w + 1) * WINDOW).toFixed(3))
      .join(
        ' | ',
      )} | ${metric(run, 0, PROMPTS).toFixed(3)} | ${metric(run, PROMPTS / 2, PROMPTS).toFixed(3)} | ${tau(run).toFixed(2)} | ${run.seconds.toFixed(0)} |`;
  const report = (temperature: number, name: string, run: Run) => {
    lines.push(row(rate, temperature, name, run));
    alphaLines.push(row(alpha, temperature, name, run));
    console.log(`${lines.at(-1)}\n${alphaLines.at(-1)} (Σ min(p, q))`);
  };

  for (const temperature of TEMPERATURES) {
    const frozen = await stream(target, onlineSd({ model: frozenDraft }), stream100, temperature);
    report(temperature, 'frozen', frozen);
    for (const { lossTemperature, ...recipe } of RECIPES) {
      const lossT = lossTemperature === 'decode' ? temperature || 1 : Number(lossTemperature);
      const distiller = onlineDistiller({
        config: base.config,
        weights: base.weights,
        load: llamaDraftLoader(base, 'llama2xs-online'),
        ...recipe,
        temperature: lossT,
      });
      const strategy = onlineSd({
        model: frozenDraft,
        updater: distiller,
        updateInterval: 8,
        recordVerified: recipe.positions === 'verified',
      });
      const online = await stream(target, strategy, stream100, temperature);
      const name = `online ${recipe.divergence} at ${recipe.positions}${lossT === 1 ? '' : ` (loss T ${lossT})`}, lr ${recipe.learningRate} × ${recipe.stepsPerUpdate}`;
      report(temperature, name, online);
      const losses = distiller.records.map(
        r => `${r.lossBefore.toFixed(2)}→${r.lossAfter.toFixed(2)}`,
      );
      const trainSeconds = sum(distiller.records.map(r => r.trainMs + r.loadMs)) / 1000;
      console.log(
        `  ${distiller.records.length} updates (${trainSeconds.toFixed(0)} s training + rebuild), loss per update: ${losses.join(' ')}`,
      );
      // Exactness across the swaps: greedy output is the target's, whatever the draft.
      if (temperature === 0) expect(online.tokens).toEqual(frozen.tokens);
      expect(strategy.drafter.updates).toBe(Math.floor(PROMPTS / 8));
      await strategy.drafter.dispose();
      distiller.dispose();
    }
  }
  console.log(
    `\nacceptance rate = accepted / proposed draft tokens (draftLength 5), llama2xs → stories260K, ${PROMPTS} prompts × ${MAX_TOKENS} tokens\n${lines.join('\n')}\n\nα = mean Σ_x min(p(x), q(x)) over the verified draft rows\n${alphaLines.join('\n')}`,
  );
  await frozenDraft.dispose();
  await target.dispose();
}, 7_200_000);
