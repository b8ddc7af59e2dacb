/**
 * Online Speculative Decoding's claim, scaled down: llama2xs drafts for stories260K over a stream of 100
 * seeded prompts (each the first 16 tokens of a T = 1 sample of stories260K, seeds 10,000..10,099), 128 new
 * tokens each, at T = 0 and 0.8. A frozen draft against drafts distilled online (`onlineDistiller`: every 8
 * generations, forward KL at the rejected positions, Adam at a constant learning rate) and hot-swapped in.
 * Prints the acceptance rate (accepted / proposed draft tokens, the paper's α) per window of 10 prompts.
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/online-sd/scripts/online-sd.measure.ts
 *
 * `ONLINE_SD_RECIPES` picks recipes as `lr:steps:divergence` (comma-separated; default
 * `0.0001:1:forward,0.001:4:forward`: the official online step, then a larger one for this tiny budget);
 * `ONLINE_SD_TEMPERATURES` the temperatures (default `0,0.8`). The whole default run takes about 45 minutes
 * on a busy 2-core machine (mostly the tfjs training).
 */
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { onlineDistiller, type DistillDivergence } from '@decodekit/train';
import { expect, it } from 'vitest';
import { onlineSd, type OnlineSpeculativeStrategy } from '../src/index.js';
import { llama2xsCheckpoint, llamaDraftLoader } from './llama-draft.js';

const PROMPTS = 100;
const PROMPT_TOKENS = 16;
const MAX_TOKENS = 128;
const WINDOW = 10;
const TEMPERATURES = (process.env.ONLINE_SD_TEMPERATURES ?? '0,0.8').split(',').map(Number);
const RECIPES = (process.env.ONLINE_SD_RECIPES ?? '0.0001:1:forward,0.001:4:forward')
  .split(',')
  .map(recipe => {
    const [lr, steps, divergence] = recipe.split(':');
    return {
      learningRate: Number(lr),
      stepsPerUpdate: Number(steps),
      divergence: divergence as DistillDivergence,
    };
  });

interface Run {
  accepted: number[];
  proposed: number[];
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
const tau = (run: Run) => sum(run.emitted) / Math.max(1, sum(run.forwards));

it('online-sd: acceptance over a stream of 100 prompts, frozen vs distilled draft', async () => {
  const target = await loadModel('karpathy/tinyllamas/stories260K');
  const frozenDraft = await loadModel('llama2xs');
  const base = llama2xsCheckpoint();
  const stream100 = await prompts(target);
  const lines: string[] = [];
  const windows = Array.from({ length: PROMPTS / WINDOW }, (_, w) => w);
  lines.push(
    `| T | draft | ${windows.map(w => `${w * WINDOW + 1}–${(w + 1) * WINDOW}`).join(' | ')} | all | last 50 | τ | s |`,
  );
  lines.push(
    `| --- | --- | ${windows.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: |`,
  );
  const row = (temperature: number, name: string, run: Run) =>
    `| ${temperature} | ${name} | ${windows
      .map(w => rate(run, w * WINDOW, (w + 1) * WINDOW).toFixed(3))
      .join(
        ' | ',
      )} | ${rate(run, 0, PROMPTS).toFixed(3)} | ${rate(run, PROMPTS / 2, PROMPTS).toFixed(3)} | ${tau(run).toFixed(2)} | ${run.seconds.toFixed(0)} |`;

  for (const temperature of TEMPERATURES) {
    const frozen = await stream(target, onlineSd({ model: frozenDraft }), stream100, temperature);
    lines.push(row(temperature, 'frozen', frozen));
    console.log(lines.at(-1));
    for (const recipe of RECIPES) {
      const distiller = onlineDistiller({
        config: base.config,
        weights: base.weights,
        load: llamaDraftLoader(base, 'llama2xs-online'),
        ...recipe,
      });
      const strategy = onlineSd({ model: frozenDraft, updater: distiller, updateInterval: 8 });
      const online = await stream(target, strategy, stream100, temperature);
      const name = `online ${recipe.divergence} lr ${recipe.learningRate} × ${recipe.stepsPerUpdate}`;
      lines.push(row(temperature, name, online));
      console.log(lines.at(-1));
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
    `\nacceptance rate α = accepted / proposed draft tokens (draftLength 5), llama2xs → stories260K, ${PROMPTS} prompts × ${MAX_TOKENS} tokens\n${lines.join('\n')}`,
  );
  await frozenDraft.dispose();
  await target.dispose();
}, 7_200_000);
