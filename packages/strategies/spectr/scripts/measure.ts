/**
 * Measures SpecTr against autoregressive decoding and sequential speculative sampling (draft-model) on
 * bench/stories.jsonl at T = 0 and 0.8 (a benchmark).
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-spectr...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/spectr/scripts/measure.ts [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { draftModel } from '@decodekit/strategy-draft-model';
import { spectr } from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const self = await loadModel('karpathy/tinyllamas/stories260K');
for (const temperature of [0, 0.8]) {
  const configs: Record<string, () => Strategy> = {
    'sps (draft-model, llama2xs)': () =>
      speculative({ drafter: draftModel({ model: draft, temperature }) }),
    'spectr k=1 L=4 (llama2xs)': () => spectr({ model: draft, k: 1, draftLength: 4 }),
    'spectr k=2 L=4 (llama2xs)': () => spectr({ model: draft, k: 2, draftLength: 4 }),
    'spectr k=4 L=4 (llama2xs)': () => spectr({ model: draft, k: 4, draftLength: 4 }),
    'spectr k=4 L=4 (stories260K skip 3)': () =>
      spectr({ model: self, k: 4, draftLength: 4, skipLayers: [3] }),
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
