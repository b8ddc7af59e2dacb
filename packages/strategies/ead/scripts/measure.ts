/**
 * Sweeps the EAD threshold on llama2xs (small) → stories260K (large) over bench/stories.jsonl at T = 0 (a
 * benchmark): tokens per second and mismatches against the large model's greedy output (measureStrategies'
 * AR baseline), then the large model's share of tokens and the number of switches per threshold.
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-ead...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/ead/scripts/measure.ts [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { entropyAdaptiveDecoding } from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));

const large = await loadModel('karpathy/tinyllamas/stories260K');
const small = await loadModel('llama2xs');
const strategies = Object.fromEntries(
  [-Infinity, 0.5, 1, 1.5, 2, 2.5, 3, Infinity].map(threshold => [
    `ead τ=${threshold}`,
    entropyAdaptiveDecoding({ small, threshold }),
  ]),
);
await measureStrategies({
  model: large,
  strategies,
  promptFiles: [stories],
  temperatures: [0],
  repeats,
});
for (const [name, strategy] of Object.entries(strategies)) {
  const totals = strategy.totals;
  const share = (100 * totals.largeTokens) / (totals.largeTokens + totals.smallTokens);
  console.log(`${name}: large share ${share.toFixed(1)}%, switches ${totals.switches}`);
}
await large.dispose();
await small.dispose();
