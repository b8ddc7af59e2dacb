/**
 * Measures lookahead against autoregressive decoding on stories260K (same process, interleaved per
 * prompt), at T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureStrategies } from '@decodekit/bench';
import { lookahead, type LookaheadOptions } from '../src/index.js';

const la = (options: LookaheadOptions) => () => {
  const drafter = lookahead(options);
  return speculative({ drafter, budget: drafter.rowsPerStep, adaptive: false });
};
const strategies: Record<string, () => Strategy> = {
  'lookahead W7N5G7 (paper)': la({}),
  'lookahead W4N3G2': la({ windowSize: 4, ngramSize: 3, guessSetSize: 2 }),
  'lookahead W3N4G2': la({ windowSize: 3, ngramSize: 4, guessSetSize: 2 }),
  'lookahead W5N4G3': la({ windowSize: 5, ngramSize: 4, guessSetSize: 3 }),
  'lookahead W4N4G2 pool': la({
    windowSize: 4,
    ngramSize: 4,
    guessSetSize: 2,
    poolFromPrompt: true,
  }),
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
