/**
 * Builds ADED's default datastore for stories260K from text the model itself generates: N stories sampled
 * from BOS (T = 0.8, seeds 0..N-1, 256 tokens each), counted as tri-grams of the generated ids.
 *
 *   DECODEKIT_MODELS=/work/shared/models node <tsx>/cli.mjs scripts/build-default-store.ts [--stories 400] [--out .aded/stories260K.aded]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createDecoder } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { buildAdedStoreFromTokens, serializeAdedStore } from '../src/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  args.includes(name) ? args[args.indexOf(name) + 1] : fallback;
const stories = Number(option('--stories', '400'));
const out = option('--out', '.aded/stories260K.aded');

const model = await loadModel('karpathy/tinyllamas/stories260K');
const decoder = createDecoder({ model });
const documents: number[][] = [];
const start = performance.now();
for (let seed = 0; seed < stories; seed++) {
  const { tokens, promptTokens } = await decoder.generate(
    { tokens: [model.info.bosTokenId ?? 1] },
    { maxTokens: 256, temperature: 0.8, seed },
  );
  documents.push([...promptTokens, ...tokens]);
}
const store = buildAdedStoreFromTokens(documents);
const bytes = serializeAdedStore(store);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, bytes);
const tokens = documents.reduce((sum, document) => sum + document.length, 0);
console.log(
  `${stories} stories, ${tokens} tokens generated in ${((performance.now() - start) / 1000).toFixed(1)} s → ` +
    `${store.bigrams} bigrams, ${store.trigrams} tri-grams, ${bytes.byteLength} bytes → ${out}`,
);
await model.dispose();
