/**
 * Measures strategies against autoregressive decoding on stories260K (same process, interleaved per
 * prompt), at T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { aded, deserializeAdedStore } from '@decodekit/strategy-aded';
import { copyspec } from '../src/index.js';

// ADED's default store (packages/strategies/aded: scripts/build-default-store.ts).
const store = deserializeAdedStore(
  readFileSync(fileURLToPath(new URL('../../aded/.aded/stories260K.aded', import.meta.url))),
);
const strategies: Record<string, () => Strategy> = {
  copyspec: () => speculative({ drafter: copyspec(), adaptive: false }),
  'copyspec latest': () =>
    speculative({ drafter: copyspec({ prefer: 'latest' }), adaptive: false }),
  'copyspec (engine adaptive cut)': () => speculative({ drafter: copyspec() }),
  'token-recycling (8)': () =>
    speculative({ drafter: tokenRecycling(), budget: 8, adaptive: false }),
  'copyspec+tr (8)': () =>
    speculative({ drafter: copyspec({ fallback: tokenRecycling() }), budget: 8, adaptive: false }),
  'aded (16)': () => speculative({ drafter: aded({ store }), budget: 16, adaptive: false }),
  'copyspec+aded (16)': () =>
    speculative({ drafter: copyspec({ fallback: aded({ store }) }), budget: 16, adaptive: false }),
  'copyspec+aded (16) adaptive': () =>
    speculative({ drafter: copyspec({ fallback: aded({ store }) }), budget: 16 }),
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
