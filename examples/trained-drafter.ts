/**
 * Trained drafters: EAGLE with the drafter committed for stories260K, then Medusa heads trained here on the
 * target's own generations (`@decodekit/train`, TensorFlow.js) — both verified by core's engine, so the ids
 * are greedy's whatever the drafter guesses.
 * Run: `pnpm --filter @decodekit/examples exec tsx trained-drafter.ts`.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, speculative, type Drafter } from '@decodekit/core';
import { eagle, parseEagleWeights } from '@decodekit/strategy-eagle';
import { medusa } from '@decodekit/strategy-medusa';
import { loadOrGenerateDataset, trainMedusa } from '@decodekit/train';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const prompt = 'Tom had a red ball.';
  const options = { maxTokens: 64, temperature: 0 };
  const plain = await createDecoder({ model }).generate(prompt, options);
  const report = async (name: string, drafter: Drafter) => {
    // adaptive: false verifies the drafter's whole tree every step, so τ shows the drafter itself.
    const decoder = createDecoder({ model }).use(speculative({ drafter, adaptive: false }));
    const { tokens, stats } = await decoder.generate(prompt, options);
    write(`${name}: same ids as greedy: ${String(tokens.join() === plain.tokens.join())}, `);
    write(`tokens per forward ${stats.meanAcceptedTokens.toFixed(2)}\n`);
  };

  // 1. EAGLE-2 with the drafter the package ships for stories260K.
  const require = createRequire(import.meta.url);
  const file = require.resolve('@decodekit/strategy-eagle/weights/stories260K/weights.json');
  await report(
    'eagle (committed)',
    eagle({ weights: parseEagleWeights(readFileSync(file, 'utf8')) }),
  );

  // 2. Medusa heads trained now: the target's own generations, a few seeded steps (a real run: 1,000).
  const cache = mkdtempSync(join(tmpdir(), 'decodekit-example-'));
  try {
    const { dataset } = await loadOrGenerateDataset(
      model,
      { count: 24, length: 64, seed: 0, sampledPrefix: 8 },
      cache,
    );
    const lmHead = model.embeddingTable?.();
    if (!lmHead) throw new Error('stories260K converted by decodekit has a tied embedding table');
    const { weights, accuracy } = await trainMedusa(dataset, lmHead, model.info.vocabSize, {
      steps: 60,
      batchSize: 64,
      learningRate: 3e-3,
      seed: 0,
      backend: 'wasm',
      heads: 2,
      treeSize: 8,
    });
    write(`medusa heads held-out top-1: ${accuracy.map(row => row[0].toFixed(2)).join(' ')}\n`);
    await report('medusa (trained here)', medusa({ weights }));
  } finally {
    rmSync(cache, { recursive: true, force: true });
    await model.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
