/**
 * EasySpec on llama2xs (the TypeScript layer-parallel executor) → stories260K over bench/stories.jsonl at
 * T = 0 and 0.8, by group size (a benchmark): tokens per second, τ and mismatches against AR, then the share
 * of draft positions made with fuzzy (layer-parallel) attention.
 *
 *   pnpm turbo run build --filter=@decodekit/strategy-easyspec...
 *   DECODEKIT_MODELS=../shared/models node <tsx>/cli.mjs packages/strategies/easyspec/scripts/measure.ts [--repeats N]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { speculative } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { measureArgs, measureStrategies } from '@decodekit/bench';
import { readLlama2cCheckpoint } from '@decodekit/models';
import { easySpec } from '../src/index.js';

const { repeats } = measureArgs(process.argv.slice(2), {});
const stories = fileURLToPath(new URL('../../../../bench/stories.jsonl', import.meta.url));
const mirror = process.env.DECODEKIT_MODELS ?? '../shared/models';

const target = await loadModel('karpathy/tinyllamas/stories260K');
const draft = readLlama2cCheckpoint(
  new Uint8Array(readFileSync(join(mirror, 'llama2xs/model.bin'))),
);
for (const temperature of [0, 0.8]) {
  const drafters = Object.fromEntries(
    [1, 2, 3, 5].map(groupSize => [
      `easyspec group ${groupSize}`,
      easySpec({ ...draft, groupSize, draftLength: 4, temperature }),
    ]),
  );
  await measureStrategies({
    model: target,
    strategies: Object.fromEntries(
      Object.entries(drafters).map(([name, drafter]) => [
        name,
        speculative({ drafter, adaptive: false }),
      ]),
    ),
    promptFiles: [stories],
    temperatures: [temperature],
    repeats,
  });
  for (const [name, drafter] of Object.entries(drafters)) {
    const share =
      (100 * drafter.fuzzyPositions) / (drafter.fuzzyPositions + drafter.exactPositions);
    console.log(`T=${temperature} ${name}: fuzzy share of draft positions ${share.toFixed(1)}%`);
  }
}
await target.dispose();
