/**
 * Measures LUD against autoregressive decoding on stories260K (same process, interleaved per prompt), at
 * T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl. stories260K is not LUD-fine-tuned:
 * threshold 1.01 shows the exact mode's cost, threshold 0.9 shows what a lossy threshold does to output.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureStrategies } from '@decodekit/bench';
import { lud } from '../src/index.js';

const strategies: Record<string, () => Strategy> = {
  'lud threshold 1.01 (exact)': () => lud({ threshold: 1.01 }),
  'lud threshold 0.9 (lossy)': () => lud({ threshold: 0.9 }),
  'lud threshold 0.5 (lossy)': () => lud({ threshold: 0.5 }),
};
const args = process.argv.slice(2);
const repeatsAt = args.indexOf('--repeats');
const repeats = repeatsAt >= 0 ? Number(args.splice(repeatsAt, 2)[1]) : 2;
const names = args.length ? args : Object.keys(strategies);
// One instance per strategy for the whole run, as a decoder keeps its strategy: drafter state and the
// engine's cost calibration carry over between generations.
const instances = Object.fromEntries(names.map(name => [name, strategies[name]()]));
const bench = fileURLToPath(new URL('../../../../bench/', import.meta.url));
const model = await loadModel('karpathy/tinyllamas/stories260K');
await measureStrategies({
  model,
  strategies: instances,
  promptFiles: [`${bench}stories.jsonl`, `${bench}grounded.jsonl`],
  repeats,
});
await model.dispose();
