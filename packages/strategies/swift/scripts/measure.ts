/**
 * Measures SWIFT against autoregressive decoding on stories260K (same process, interleaved per prompt),
 * at T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl, and prints the layers it chose.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { swift } from '../src/index.js';

// One instance for the whole run: the search persists across generations, as in the official evaluation.
const searched = swift();
const strategies: Record<string, () => Strategy> = {
  'swift (searched)': () => searched,
  'swift skip [1]': () => swift({ skipLayers: [1] }),
  'swift skip [2]': () => swift({ skipLayers: [2] }),
  'swift skip [3]': () => swift({ skipLayers: [3] }),
  'swift skip [1,2,3] budget 4': () => swift({ skipLayers: [1, 2, 3], budget: 4 }),
};
process.on('exit', () =>
  console.log(
    '\nsearched layer set:',
    JSON.stringify(searched.search(), (key, value) => (key === 'history' ? value.length : value)),
  ),
);
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
