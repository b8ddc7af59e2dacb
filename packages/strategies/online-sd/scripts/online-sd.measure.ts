/**
 * Online Speculative Decoding's claim, scaled down: llama2xs drafts for stories260K over a stream of 100
 * seeded prompts, 128 new tokens each, at T = 0 and 0.8. Two streams (`ONLINE_SD_STREAMS`, default
 * `generic,science`): `generic`, each prompt the first 16 tokens of a T = 1 sample of stories260K (seeds
 * 10,000..10,099); `science`, a stream with one recurring domain (the paper's premise: a general draft
 * meets one domain over many requests): each prompt one of four fixed space/lab story openings (in turn)
 * plus 8 tokens of a T = 1 continuation of it by stories260K (seeds 40,000..40,099). The openings were
 * picked among 17 candidates as those where the frozen draft's α was lowest on 20 prompts of each (seeds
 * 20,000..20,019, disjoint from the stream's). No bench prompt is used.
 * A frozen draft against drafts distilled online (`onlineDistiller`: every 8 generations, forward KL, Adam
 * at a constant learning rate) and hot-swapped in, plus a negative control: an "online" run whose updater
 * rebuilds and swaps in the unchanged weights (learning rate 0), which must not differ from the frozen run.
 * Prints, per window of 10 prompts, the acceptance rate (accepted / proposed draft tokens) and the paper's α
 * (mean Σ_x min(p, q) over the verified draft rows, `OnlineSdRecord.alphaSum / verifiedRows`), then the
 * paired comparison with the frozen run (same prompts, same seeds): the mean per-prompt difference online −
 * frozen of α and of the acceptance rate over the second half and over all prompts, with a seeded bootstrap
 * 95 % interval (prompts resampled, 10,000 draws) and the sign count (+ / − / =).
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/online-sd/scripts/online-sd.measure.ts
 *
 * `ONLINE_SD_RECIPES` picks recipes as `lr:steps:divergence[:positions[:lossTemperature[:replay]]]`
 * (comma-separated; positions `step-starts` (default, the official trainer's) | `rejected` | `verified`;
 * lossTemperature a number (default 1, the official's) or `decode` for the decoding temperature; replay the
 * earlier buffers distilled again with each update, default 0; an empty list runs no recipe). Default
 * `0.0001:1:forward:step-starts,0.0003:1:forward:verified`: the official online step, then every verified
 * position at a larger step. `ONLINE_SD_TEMPERATURES` the temperatures (default `0,0.8`),
 * `ONLINE_SD_PROMPTS` the stream length (default 100, a multiple of 20), `ONLINE_SD_INTERVAL` the
 * generations per update (default 8, the official's), `ONLINE_SD_SEED` the streams' first seed (a
 * replication on fresh prompts), `ONLINE_SD_CONTROL=0` skips the control. The default run takes 10 to 30
 * minutes on a busy 2-core machine (mostly the tfjs training).
 */
import { loadModel } from '@decodekit/backend-onnx';
import { pairedBootstrap } from '@decodekit/bench';
import { createDecoder, type DraftUpdater, type LoadedModel } from '@decodekit/core';
import { onlineDistiller, type DistillDivergence, type DistillPositions } from '@decodekit/train';
import { expect, it } from 'vitest';
import { onlineSd, type OnlineSpeculativeStrategy } from '../src/index.js';
import { llama2xsCheckpoint, llamaDraftLoader } from './llama-draft.js';

const PROMPTS = Number(process.env.ONLINE_SD_PROMPTS ?? 100);
const PROMPT_TOKENS = 16;
const MAX_TOKENS = 128;
const WINDOW = 10;
const TEMPERATURES = (process.env.ONLINE_SD_TEMPERATURES ?? '0,0.8').split(',').map(Number);
const STREAMS = (process.env.ONLINE_SD_STREAMS ?? 'generic,science').split(',');
for (const name of STREAMS) {
  if (name !== 'generic' && name !== 'science') {
    throw new Error(`ONLINE_SD_STREAMS: unknown stream ${name} (generic | science)`);
  }
}
/** The first seed of the prompt streams, to replicate on fresh prompts (default 10,000 / 40,000). */
const SEED =
  process.env.ONLINE_SD_SEED === undefined ? undefined : Number(process.env.ONLINE_SD_SEED);
const INTERVAL = Number(process.env.ONLINE_SD_INTERVAL ?? 8);
const CONTROL = process.env.ONLINE_SD_CONTROL !== '0';
/** The `science` stream's recurring openings (none is, or starts, a bench prompt). */
const SCIENCE_OPENINGS = [
  'The spaceship landed on the moon. The astronaut',
  'The scientist looked into the microscope and',
  'In the lab, the scientist mixed',
  'The robot and the scientist built a',
];
const SCIENCE_CONTINUATION = 8;
const RECIPES = (
  process.env.ONLINE_SD_RECIPES ?? '0.0001:1:forward:step-starts,0.0003:1:forward:verified'
)
  .split(',')
  .filter(recipe => recipe !== '')
  .map(recipe => {
    const [lr, steps, divergence, positions = 'step-starts', lossTemperature = '1', replay = '0'] =
      recipe.split(':');
    return {
      learningRate: Number(lr),
      stepsPerUpdate: Number(steps),
      divergence: divergence as DistillDivergence,
      positions: positions as DistillPositions,
      /** `decode`: the decoding temperature (1 at T = 0). */
      lossTemperature,
      replay: Number(replay),
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

async function prompts(target: LoadedModel, name: string): Promise<number[][]> {
  const bos = target.info.bosTokenId ?? 1;
  const out: number[][] = [];
  for (let i = 0; i < PROMPTS; i++) {
    const start =
      name === 'science'
        ? [
            bos,
            ...target.tokenizer.encode(SCIENCE_OPENINGS[i % SCIENCE_OPENINGS.length], {
              addSpecialTokens: false,
            }),
          ]
        : [bos];
    const { tokens } = await createDecoder({ model: target }).generate(
      { tokens: start },
      {
        maxTokens: name === 'science' ? SCIENCE_CONTINUATION : PROMPT_TOKENS,
        temperature: 1,
        seed: (SEED ?? (name === 'science' ? 40_000 : 10_000)) + i,
      },
    );
    out.push([...start, ...tokens]);
  }
  return out;
}

/**
 * The negative control's updater: every update rebuilds a draft from the unchanged starting weights (as a
 * learning rate of 0 would leave them) and the drafter hot-swaps it in, like a real update.
 */
function unchangedUpdater(load: ReturnType<typeof llamaDraftLoader>, base: Base): DraftUpdater {
  let version = 0;
  return { name: 'unchanged weights', update: async () => load(base.weights, ++version) };
}
type Base = ReturnType<typeof llama2xsCheckpoint>;

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

/**
 * Greedy speculative decoding emits the target's argmax whatever the draft, up to float rounding: the target
 * scores a position in verification forwards of different row counts, whose sums round differently, so a
 * near-tie between its two best tokens can fall either way. Checks that every prompt where two greedy runs
 * differ first differs at such a tie (the two tokens' logits, from one forward over the shared prefix,
 * within 1e-3) and returns those prompts with their gaps.
 */
async function expectSameGreedyUpToTies(
  target: LoadedModel,
  promptSet: number[][],
  a: number[][],
  b: number[][],
): Promise<string[]> {
  const ties: string[] = [];
  for (const [index, prompt] of promptSet.entries()) {
    const at = a[index].findIndex((token, i) => token !== b[index][i]);
    if (at === -1 && a[index].length === b[index].length) continue;
    expect(at).toBeGreaterThanOrEqual(0);
    const sequence = target.createSequence();
    const prefix = Int32Array.from([...prompt, ...a[index].slice(0, at)]);
    const { logits } = await sequence.forward({ tokens: prefix });
    sequence.dispose();
    const row = logits.subarray((prefix.length - 1) * target.info.vocabSize);
    const gap = Math.abs(row[a[index][at]] - row[b[index][at]]);
    expect(gap).toBeLessThan(1e-3);
    ties.push(`prompt ${index + 1} from token ${at + 1} (logit gap ${gap.toExponential(1)})`);
  }
  return ties;
}

/** Per-prompt α and acceptance rate of two runs over prompts [from, to), pairs where both are defined. */
function paired(
  online: Run,
  frozen: Run,
  numerator: 'alphaSum' | 'accepted',
  denominator: 'verifiedRows' | 'proposed',
  from: number,
  to: number,
) {
  const treatment: number[] = [];
  const control: number[] = [];
  for (let i = from; i < to; i++) {
    if (online[denominator][i] === 0 || frozen[denominator][i] === 0) continue;
    treatment.push(online[numerator][i] / online[denominator][i]);
    control.push(frozen[numerator][i] / frozen[denominator][i]);
  }
  const d = pairedBootstrap(treatment, control, { draws: 10_000, seed: 0 });
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
  return `${signed(d.mean)} [${signed(d.low)}, ${signed(d.high)}] ${d.positive}/${d.negative}/${d.ties}`;
}

it('online-sd: acceptance over a stream of 100 prompts, frozen vs distilled draft', async () => {
  const target = await loadModel('karpathy/tinyllamas/stories260K');
  const frozenDraft = await loadModel('llama2xs');
  const base = llama2xsCheckpoint();
  const windows = Array.from({ length: PROMPTS / WINDOW }, (_, w) => w);
  const header = [
    `| stream | T | draft | ${windows.map(w => `${w * WINDOW + 1}–${(w + 1) * WINDOW}`).join(' | ')} | all | last ${PROMPTS / 2} | τ | s |`,
    `| --- | --- | --- | ${windows.map(() => '---:').join(' | ')} | ---: | ---: | ---: | ---: |`,
  ];
  const lines = [...header];
  const alphaLines = [...header];
  const half = `${PROMPTS / 2 + 1}–${PROMPTS}`;
  const pairedLines = [
    `| stream | T | online − frozen, per prompt | α ${half} | α all | acceptance ${half} | acceptance all |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const row = (
    metric: (run: Run, from: number, to: number) => number,
    streamName: string,
    temperature: number,
    name: string,
    run: Run,
  ) =>
    `| ${streamName} | ${temperature} | ${name} | ${windows
      .map(w => metric(run, w * WINDOW, (w + 1) * WINDOW).toFixed(3))
      .join(
        ' | ',
      )} | ${metric(run, 0, PROMPTS).toFixed(3)} | ${metric(run, PROMPTS / 2, PROMPTS).toFixed(3)} | ${tau(run).toFixed(2)} | ${run.seconds.toFixed(0)} |`;
  const report = (streamName: string, temperature: number, name: string, run: Run) => {
    lines.push(row(rate, streamName, temperature, name, run));
    alphaLines.push(row(alpha, streamName, temperature, name, run));
    console.log(`${lines.at(-1)}\n${alphaLines.at(-1)} (Σ min(p, q))`);
  };
  const compare = (
    streamName: string,
    temperature: number,
    name: string,
    online: Run,
    frozen: Run,
  ) => {
    const cells = [
      paired(online, frozen, 'alphaSum', 'verifiedRows', PROMPTS / 2, PROMPTS),
      paired(online, frozen, 'alphaSum', 'verifiedRows', 0, PROMPTS),
      paired(online, frozen, 'accepted', 'proposed', PROMPTS / 2, PROMPTS),
      paired(online, frozen, 'accepted', 'proposed', 0, PROMPTS),
    ];
    pairedLines.push(`| ${streamName} | ${temperature} | ${name} | ${cells.join(' | ')} |`);
    console.log(pairedLines.at(-1));
  };

  for (const streamName of STREAMS) {
    const stream100 = await prompts(target, streamName);
    for (const temperature of TEMPERATURES) {
      const frozen = await stream(target, onlineSd({ model: frozenDraft }), stream100, temperature);
      report(streamName, temperature, 'frozen', frozen);
      if (CONTROL) {
        const strategy = onlineSd({
          model: frozenDraft,
          updater: unchangedUpdater(llamaDraftLoader(base, 'llama2xs-unchanged'), base),
          updateInterval: INTERVAL,
        });
        const control = await stream(target, strategy, stream100, temperature);
        report(streamName, temperature, 'control: unchanged weights swapped in', control);
        compare(streamName, temperature, 'control: unchanged weights swapped in', control, frozen);
        // The rebuilt graph of the same weights computes the same numbers: same tokens at every T.
        expect(control.tokens).toEqual(frozen.tokens);
        expect(strategy.drafter.updates).toBe(Math.floor(PROMPTS / INTERVAL));
        await strategy.drafter.dispose();
      }
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
          updateInterval: INTERVAL,
          recordVerified: recipe.positions === 'verified',
        });
        const online = await stream(target, strategy, stream100, temperature);
        const name = `online ${recipe.divergence} at ${recipe.positions}${lossT === 1 ? '' : ` (loss T ${lossT})`}, lr ${recipe.learningRate} × ${recipe.stepsPerUpdate}${recipe.replay === 0 ? '' : `, replay ${recipe.replay}`}${INTERVAL === 8 ? '' : `, every ${INTERVAL}`}`;
        report(streamName, temperature, name, online);
        compare(streamName, temperature, name, online, frozen);
        const losses = distiller.records.map(
          r => `${r.lossBefore.toFixed(2)}→${r.lossAfter.toFixed(2)}`,
        );
        const trainSeconds = sum(distiller.records.map(r => r.trainMs + r.loadMs)) / 1000;
        console.log(
          `  ${distiller.records.length} updates (${trainSeconds.toFixed(0)} s training + rebuild), loss per update: ${losses.join(' ')}`,
        );
        // Exactness across the swaps: greedy output is the target's, whatever the draft (up to ties).
        if (temperature === 0) {
          const ties = await expectSameGreedyUpToTies(
            target,
            stream100,
            online.tokens,
            frozen.tokens,
          );
          console.log(
            `  greedy output as the frozen run's except at float ties: ${ties.join(', ') || 'none'}`,
          );
        }
        expect(strategy.drafter.updates).toBe(Math.floor(PROMPTS / INTERVAL));
        await strategy.drafter.dispose();
        distiller.dispose();
      }
    }
  }
  console.log(
    `\nacceptance rate = accepted / proposed draft tokens (draftLength 5), llama2xs → stories260K, ${PROMPTS} prompts × ${MAX_TOKENS} tokens\n${lines.join('\n')}\n\nα = mean Σ_x min(p(x), q(x)) over the verified draft rows\n${alphaLines.join('\n')}\n\npaired per prompt: mean [bootstrap 95 % interval, 10,000 draws over prompts] and prompts +/−/=\n${pairedLines.join('\n')}`,
  );
  await frozenDraft.dispose();
  await target.dispose();
}, 7_200_000);
