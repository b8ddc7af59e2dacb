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
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { lud } from '../src/index.js';

const strategies: Record<string, () => Strategy> = {
  'lud threshold 1.01 (exact)': () => lud({ threshold: 1.01 }),
  'lud threshold 0.9 (lossy)': () => lud({ threshold: 0.9 }),
  'lud threshold 0.5 (lossy)': () => lud({ threshold: 0.5 }),
};
// One instance per named configuration for the whole run (drafter state carries over, as in a decoder).
const { strategies: instances, repeats } = measureArgs(process.argv.slice(2), strategies);
const bench = fileURLToPath(new URL('../../../../bench/', import.meta.url));
const model = await loadModel('karpathy/tinyllamas/stories260K');
await measureStrategies({
  model,
  strategies: instances,
  promptFiles: [`${bench}stories.jsonl`, `${bench}grounded.jsonl`],
  repeats,
});
await model.dispose();
