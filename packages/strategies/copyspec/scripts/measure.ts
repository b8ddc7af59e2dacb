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
import { measureStrategies } from '@decodekit/bench';
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
