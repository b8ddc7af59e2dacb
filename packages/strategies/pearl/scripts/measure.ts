/**
 * 1. Checks that a stories260K forward and a llama2xs forward issued together (Promise.all) overlap in wall
 *    time on onnxruntime-node (also with the draft in a worker thread). 2. Measures PEARL (concurrent and
 *    sequential scheduling) against autoregressive decoding and sequential SpS (draft-model, fixed length)
 *    on bench/stories.jsonl at T = 0 and 0.8 (a benchmark: tokens per second, τ, mismatches against AR).
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-pearl...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/pearl/scripts/measure.ts [--repeats N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { speculative, type CausalLM, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { draftModel } from '@decodekit/strategy-draft-model';
import { pearl } from '../src/index.js';
import { workerModel } from '../src/__fixtures__/worker-model.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));
const firstPrompt = (JSON.parse(readFileSync(stories, 'utf8').split('\n')[0]) as { prompt: string })
  .prompt;

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const remote = await workerModel('llama2xs');

// 1. Do two forwards issued together overlap?
const prompt = Int32Array.from(target.tokenizer.encode(firstPrompt));
const t = target.createSequence();
const d = draft.createSequence();
const w = remote.createSequence();
for (const sequence of [t, d, w]) {
  await sequence.forward({ tokens: prompt });
  sequence.commit(Array.from(prompt, (_, i) => i));
}
const five = Int32Array.of(5, 6, 7, 8, 9);
const one = Int32Array.of(5);
const time = async (run: () => Promise<unknown>, runs = 300) => {
  for (let i = 0; i < 20; i++) await run();
  const start = performance.now();
  for (let i = 0; i < runs; i++) await run();
  return +((performance.now() - start) / runs).toFixed(3);
};
const targetMs = await time(() => t.forward({ tokens: five }));
const draftMs = await time(() => d.forward({ tokens: one }));
console.log('overlap', {
  targetForward5RowsMs: targetMs,
  draftForward1RowMs: draftMs,
  bothPromiseAllMs: await time(() =>
    Promise.all([t.forward({ tokens: five }), d.forward({ tokens: one })]),
  ),
  sumMs: +(targetMs + draftMs).toFixed(3),
  workerDraftForward1RowMs: await time(() => w.forward({ tokens: one })),
  bothWithWorkerDraftMs: await time(() =>
    Promise.all([t.forward({ tokens: five }), w.forward({ tokens: one })]),
  ),
});
for (const sequence of [t, d, w]) sequence.dispose();

// 2. PEARL against SpS and AR.
for (const temperature of [0, 0.8]) {
  const configs: Record<string, () => Strategy> = {};
  for (const gamma of [2, 4]) {
    const sps = (model: CausalLM) => () =>
      speculative({
        drafter: draftModel({
          model,
          temperature,
          numAssistantTokens: gamma,
          schedule: 'constant',
        }),
        adaptive: false,
      });
    configs[`sps fixed ${gamma}`] = sps(draft);
    configs[`pearl γ=${gamma} concurrent`] = () => pearl({ model: draft, gamma, temperature });
    configs[`pearl γ=${gamma} sequential`] = () =>
      pearl({ model: draft, gamma, temperature, concurrent: false });
    configs[`sps fixed ${gamma} (worker draft)`] = sps(remote);
    configs[`pearl γ=${gamma} concurrent (worker draft)`] = () =>
      pearl({ model: remote, gamma, temperature });
  }
  await measureStrategies({
    model: target,
    strategies: Object.fromEntries(Object.entries(configs).map(([name, make]) => [name, make()])),
    promptFiles: [stories],
    temperatures: [temperature],
    repeats,
  });
}
await remote.terminate();
await target.dispose();
await draft.dispose();
