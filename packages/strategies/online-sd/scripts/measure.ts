/**
 * online-sd over the bench/stories.jsonl stream (llama2xs drafting for stories260K) against the frozen draft
 * (learningRate 0), at T = 0.8 and 0 (a benchmark): tokens per second, τ and mismatches against AR, then the
 * acceptance rate over the first and the last tenth of the generations (does the draft learn?).
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-online-sd...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/online-sd/scripts/measure.ts [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { measureStrategies } from '@decodekit/bench';
import { onlineSpeculative, type OnlineSpeculativeOptions } from '../src/index.js';

const args = process.argv.slice(2);
const repeatsAt = args.indexOf('--repeats');
const repeats = repeatsAt >= 0 ? Number(args[repeatsAt + 1]) : 2;
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = await loadModel('llama2xs');
const configs: Record<string, Omit<OnlineSpeculativeOptions, 'model'>> = {
  'frozen (lr 0)': { learningRate: 0 },
  'bias lr 0.5': { learningRate: 0.5, correction: 'bias' },
  'bigram lr 0.5': { learningRate: 0.5 },
  'bigram lr 2': { learningRate: 2 },
  'bigram lr 0.1': { learningRate: 0.1 },
};
for (const temperature of [0.8, 0]) {
  const strategies = Object.fromEntries(
    Object.entries(configs).map(([name, options]) => [
      name,
      onlineSpeculative({ model: draft, ...options }),
    ]),
  );
  await measureStrategies({
    model: target,
    strategies,
    promptFiles: [stories],
    temperatures: [temperature],
    repeats,
  });
  for (const [name, strategy] of Object.entries(strategies)) {
    const history = strategy.drafter.history;
    const tenth = Math.max(1, Math.floor(history.length / 10));
    const rate = (slice: typeof history) =>
      slice.reduce((sum, row) => sum + row.accepted, 0) /
      slice.reduce((sum, row) => sum + row.proposed, 0);
    console.log(
      `T=${temperature} ${name}: acceptance first tenth ${rate(history.slice(0, tenth)).toFixed(3)}, last tenth ${rate(history.slice(-tenth)).toFixed(3)}, all ${rate(history).toFixed(3)}`,
    );
  }
}
await target.dispose();
await draft.dispose();
