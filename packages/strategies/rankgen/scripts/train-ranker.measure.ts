// Trains the ranker shipped in src/__fixtures__/stories260K-ranker.json and reports its held-out ranking accuracy.
// Run: npx vitest run --config packages/eval/measure.config.ts packages/strategies/rankgen/scripts/train-ranker.measure.ts
// (DECODEKIT_WRITE_RANKER=1 rewrites the fixture.)
//
// Data (no third-party text): "documents" are stories260K's own generations at T = 0.8 from BOS (seeded).
// Each document gives a prefix (its first 32 tokens) and a gold continuation (the next 32). Negatives are what
// RankGen reranks at decode time and what a weaker LM writes: 2 nucleus samples (T = 1, p = 0.9) of stories260K
// and 2 of llama2xs continuing the same prefix; every other gold continuation in the batch is a negative too.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDecoder, decodeFloats, encodeFloats, type CausalLM } from '@decodekit/core';
import { loadReferenceModel } from '@decodekit/conformance';
import { trainRanker, type RankerExample } from '@decodekit/train';
import { it } from 'vitest';
import { project, rankerFeatures, rankerWeightsToJSON } from '../src/index.js';

const DOCUMENTS = Number(process.env.RANKER_DOCUMENTS ?? 640);
const PREFIX = 32;
const CONTINUATION = 32;
const NUCLEUS = { temperature: 1, topP: 0.9 };
const GOLD_TEMPERATURE = Number(process.env.RANKER_GOLD_T ?? 0.5);

it('trains the RankGen ranker for stories260K', async () => {
  const model = await loadReferenceModel();
  const { loadModel } = await import('@decodekit/backend-onnx');
  const llama2xs = await loadModel('llama2xs');
  const bos = model.tokenizer.encode('');
  const started = Date.now();
  const sample = async (lm: CausalLM, prompt: number[], seed: number) =>
    (
      await createDecoder({ model: lm }).generate(
        { tokens: prompt },
        { maxTokens: CONTINUATION, ...NUCLEUS, seed },
      )
    ).tokens;
  type Example = RankerExample & { kinds: string[] };
  // RANKER_CACHE=file keeps the generated features between runs (hyperparameter sweeps).
  const cache = process.env.RANKER_CACHE;
  const examples: Example[] =
    cache && existsSync(cache)
      ? (JSON.parse(readFileSync(cache, 'utf8')) as Record<string, string[] | string>[]).map(e => ({
          prefix: decodeFloats(e.prefix as string),
          gold: decodeFloats(e.gold as string),
          negatives: (e.negatives as string[]).map(decodeFloats),
          kinds: e.kinds as string[],
        }))
      : [];
  for (let seed = 0; examples.length < DOCUMENTS; seed++) {
    const { tokens } = await createDecoder({ model }).generate(
      { tokens: bos },
      { maxTokens: PREFIX + CONTINUATION, temperature: GOLD_TEMPERATURE, seed },
    );
    if (tokens.length < PREFIX + CONTINUATION) continue;
    const prefix = tokens.slice(0, PREFIX);
    const gold = tokens.slice(PREFIX);
    const prompt = [...bos, ...prefix];
    const negatives = [
      await sample(model, prompt, 1_000_000 + 2 * seed),
      await sample(model, prompt, 1_000_001 + 2 * seed),
      await sample(llama2xs, prompt, 2_000_000 + 2 * seed),
      await sample(llama2xs, prompt, 2_000_001 + 2 * seed),
    ];
    examples.push({
      prefix: await rankerFeatures(model, prefix),
      gold: await rankerFeatures(model, gold),
      negatives: await Promise.all(negatives.map(ids => rankerFeatures(model, ids))),
      kinds: ['stories260K nucleus', 'stories260K nucleus', 'llama2xs nucleus', 'llama2xs nucleus'],
    });
  }
  if (cache && !existsSync(cache)) {
    const json = examples.map(e => ({
      prefix: encodeFloats(e.prefix),
      gold: encodeFloats(e.gold),
      negatives: e.negatives.map(encodeFloats),
      kinds: e.kinds,
    }));
    writeFileSync(cache, JSON.stringify(json));
  }
  const heldOut = examples.splice(Math.floor(examples.length * 0.8));
  console.log(
    `data: ${examples.length} training / ${heldOut.length} held-out documents in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const result = await trainRanker(examples, {
    steps: Number(process.env.RANKER_STEPS ?? 600),
    batchSize: 32,
    learningRate: Number(process.env.RANKER_LR ?? 0.003),
    seed: 1,
    backend: 'cpu',
    dim: Number(process.env.RANKER_DIM ?? 32),
    logEvery: 100,
    onProgress: ({ step, steps, loss }) =>
      console.log(`step ${step}/${steps} loss ${loss.toFixed(4)}`),
  });
  const weights = {
    encoder: model.info.name,
    hiddenSize: model.info.hiddenSize,
    dim: result.dim,
    prefix: result.prefix,
    suffix: result.suffix,
  };
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);
  const scoreOf = (prefix: Float32Array, suffix: Float32Array) =>
    dot(project(weights.prefix, prefix, weights.dim), project(weights.suffix, suffix, weights.dim));
  // Held-out pairwise accuracy: gold above each kind of negative, and above another document's gold.
  const wins: Record<string, [number, number]> = {};
  for (const [i, example] of heldOut.entries()) {
    const gold = scoreOf(example.prefix, example.gold);
    const other = heldOut[(i + 1) % heldOut.length].gold;
    const pairs: [string, Float32Array][] = [
      ...example.negatives.map((n, j) => [example.kinds[j], n] as [string, Float32Array]),
      ['another document', other],
    ];
    for (const [kind, negative] of pairs) {
      wins[kind] ??= [0, 0];
      wins[kind][1]++;
      if (gold > scoreOf(example.prefix, negative)) wins[kind][0]++;
    }
  }
  console.log('\n| gold continuation ranked above | held-out pairs | accuracy |');
  console.log('| --- | --- | --- |');
  for (const [kind, [won, total]] of Object.entries(wins))
    console.log(`| ${kind} | ${total} | ${((100 * won) / total).toFixed(1)} % |`);
  if (process.env.DECODEKIT_WRITE_RANKER) {
    writeFileSync(
      fileURLToPath(new URL('../src/__fixtures__/stories260K-ranker.json', import.meta.url)),
      `${JSON.stringify(rankerWeightsToJSON(weights))}\n`,
    );
  }
  await llama2xs.dispose();
});
