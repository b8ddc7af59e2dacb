/**
 * One shared draft over nested stories260K sub-models (3, 4 and 5 layers) on bench/stories.jsonl at T = 0
 * and 0.8 (a benchmark): per target, tokens per second, τ and mismatches against that target's AR, then the
 * shared draft's acceptance per target.
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-s2d...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/s2d/scripts/measure.ts [--repeats N]
 */
import { fileURLToPath } from 'node:url';
import type { CausalLM } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureStrategies } from '@decodekit/bench';
import { nestedSubModel, s2d } from '../src/index.js';

const args = process.argv.slice(2);
const repeatsAt = args.indexOf('--repeats');
const repeats = repeatsAt >= 0 ? Number(args[repeatsAt + 1]) : 2;
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));

const base = await loadModel('karpathy/tinyllamas/stories260K');
const llama2xs = await loadModel('llama2xs');
const targets = [3, 4, 5].map(layers => nestedSubModel(base, layers));
const drafts: [string, CausalLM, number[] | undefined][] = [
  ['stories260K first 2 layers', base, [2, 3, 4]],
  ['llama2xs', llama2xs, undefined],
];
for (const temperature of [0, 0.8]) {
  for (const [draftName, draft, draftSkipLayers] of drafts) {
    const family = s2d({ draft, draftSkipLayers });
    for (const target of targets) {
      console.log(`\n${draftName} → ${target.info.name}`);
      await measureStrategies({
        model: Object.assign(target, { tokenizer: base.tokenizer }),
        strategies: { [`s2d (${draftName})`]: family.strategy() },
        promptFiles: [stories],
        temperatures: [temperature],
        repeats,
      });
    }
    for (const [name, entry] of family.stats) {
      console.log(
        `T=${temperature} draft ${draftName} → ${name}: acceptance ${(entry.accepted / entry.proposed).toFixed(3)}`,
      );
    }
  }
}
await base.dispose();
await llama2xs.dispose();
