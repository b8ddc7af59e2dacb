/**
 * Measures ADED against autoregressive decoding on stories260K (same process, interleaved per prompt),
 * at T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl. Needs the default store
 * (scripts/build-default-store.ts).
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { aded, deserializeAdedStore } from '../src/index.js';

const store = deserializeAdedStore(
  readFileSync(fileURLToPath(new URL('../.aded/stories260K.aded', import.meta.url))),
);
const strategies: Record<string, () => Strategy> = {
  'aded (64 rows, paper)': () => speculative({ drafter: aded({ store }), adaptive: false }),
  'aded budget 16': () => speculative({ drafter: aded({ store }), budget: 16, adaptive: false }),
  'aded budget 8': () => speculative({ drafter: aded({ store }), budget: 8, adaptive: false }),
  'aded budget 16 adaptive': () => speculative({ drafter: aded({ store }), budget: 16 }),
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
