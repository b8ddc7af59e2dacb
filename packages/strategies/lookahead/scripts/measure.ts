/**
 * Measures lookahead against autoregressive decoding on stories260K (same process, interleaved per
 * prompt), at T = 0 and T = 0.8, on bench/stories.jsonl and bench/grounded.jsonl.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/measure.ts [names...] [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { speculative, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
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
