/**
 * Measures DySpec against autoregressive decoding and sequential speculative sampling (draft-model) on
 * bench/stories.jsonl at T = 0 and 0.8 (a benchmark: tokens per second, τ, mismatches against AR).
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-dyspec...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/dyspec/scripts/measure.ts [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { draftModel } from '@decodekit/strategy-draft-model';
import { dyspec } from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const self = await loadModel('karpathy/tinyllamas/stories260K');
for (const temperature of [0, 0.8]) {
  const configs: Record<string, () => Strategy> = {
    'sps (draft-model, llama2xs)': () =>
      speculative({ drafter: draftModel({ model: draft, temperature }) }),
    'dyspec Alg.1 budget 8 (llama2xs)': () => dyspec({ model: draft, budget: 8 }),
    'dyspec Alg.1 budget 16 (llama2xs)': () => dyspec({ model: draft, budget: 16 }),
    'dyspec Alg.1 budget 32 (llama2xs)': () => dyspec({ model: draft, budget: 32 }),
    'dyspec Alg.2 t=1/32 budget 32 (llama2xs)': () =>
      dyspec({ model: draft, variant: 'threshold', budget: 32 }),
    'dyspec Alg.1 budget 16 (stories260K skip 3)': () =>
      dyspec({ model: self, budget: 16, skipLayers: [3] }),
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
