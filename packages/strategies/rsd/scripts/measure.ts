/**
 * Measures Recursive Speculative Decoding against autoregressive decoding and sequential speculative
 * sampling (draft-model) on bench/stories.jsonl at T = 0 and 0.8 (a benchmark).
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-rsd...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/rsd/scripts/measure.ts [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { draftModel } from '@decodekit/strategy-draft-model';
import { rsd } from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const self = await loadModel('karpathy/tinyllamas/stories260K');
for (const temperature of [0, 0.8]) {
  const configs: Record<string, () => Strategy> = {
    'sps (draft-model, llama2xs)': () =>
      speculative({ drafter: draftModel({ model: draft, temperature }) }),
    'rsd-c b=2 d=3, 14 rows (llama2xs)': () => rsd({ model: draft, branching: 2, depth: 3 }),
    'rsd-c b=3, budget 16 → 12 rows (llama2xs)': () =>
      rsd({ model: draft, branching: 3, budget: 16 }),
    'rsd-s W=4 L=4, 16 rows (llama2xs)': () =>
      rsd({ model: draft, variant: 'beam', beamWidth: 4, depth: 4 }),
    'rsd-s W=2 L=6, 12 rows (llama2xs)': () =>
      rsd({ model: draft, variant: 'beam', beamWidth: 2, depth: 6 }),
    'rsd-c b=2 d=3 (stories260K skip 3)': () =>
      rsd({ model: self, branching: 2, depth: 3, skipLayers: [3] }),
  };
  // AR runs beside them (measureStrategies' baseline); one instance per configuration for the whole run.
  await measureStrategies({
    model: target,
    strategies: Object.fromEntries(Object.entries(configs).map(([name, make]) => [name, make()])),
    promptFiles: [stories],
    temperatures: [temperature],
    repeats,
  });
}
for (const model of [target, draft, self]) await model.dispose();
