// kNN-LM perplexity table and open-ended generation quality on stories260K.
// `npx vitest run --config packages/retrieval/knn-lm/measure.config.ts packages/retrieval/knn-lm/scripts/knn-lm.measure.ts`
import { readFileSync } from 'node:fs';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, wrapModel } from '@decodekit/core';
import { evaluate, formatEvalTable } from '@decodekit/eval';
import { it } from 'vitest';
import {
  buildDatastore,
  exactSearch,
  hnswSearch,
  knnLm,
  sequencePerplexity,
  type Datastore,
  type NeighborSearch,
} from '../src/index.js';

it('kNN-LM on stories260K', async () => {
  const prompts = readFileSync(new URL('../../../../bench/stories.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => (JSON.parse(line) as { prompt: string }).prompt);
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const decoder = createDecoder({ model });
  // Text written by stories260K itself (temperature 1, seeded): the datastore from prompts 0-19 (4 seeds each),
  // the held-out text from prompts 20-29 (seed 1000). Both include the prompt.
  const sample = async (prompt: string, seed: number) => [
    ...model.tokenizer.encode(prompt),
    ...(await decoder.generate(prompt, { maxTokens: 128, temperature: 1, seed })).tokens,
  ];
  const corpus: number[][] = [];
  for (const prompt of prompts.slice(0, 20))
    for (const seed of [1, 2, 3, 4]) corpus.push(await sample(prompt, seed));
  const heldOut: number[][] = [];
  for (const prompt of prompts.slice(20)) heldOut.push(await sample(prompt, 1000));
  const lines: string[] = [];
  const base = await sequencePerplexity(model, heldOut);
  lines.push(`| none (stories260K) | — | — | — | ${base.perplexity.toFixed(3)} | — |`);
  for (const corpusSize of [20, 80]) {
    const datastore = await buildDatastore({ model, sequences: corpus.slice(0, corpusSize) });
    const searches: [string, NeighborSearch][] = [
      ['exact', exactSearch(datastore)],
      ['hnsw', hnswSearch(datastore)],
    ];
    for (const [searchName, search] of searches) {
      for (const lambda of [0.1, 0.25, 0.5]) {
        if (searchName === 'hnsw' && lambda !== 0.25) continue;
        const wrapped = wrapModel({
          model,
          middleware: knnLm({ datastore, search, lambda, k: 16, temperature: 1 }),
        });
        const started = performance.now();
        const { perplexity, tokens } = await sequencePerplexity(wrapped, heldOut);
        const ms = (performance.now() - started) / tokens;
        lines.push(
          `| ${corpusSize} stories, ${datastore.size} keys | ${searchName} | ${lambda} | 16 | ${perplexity.toFixed(3)} | ${ms.toFixed(2)} |`,
        );
      }
    }
  }
  // Human-written in-domain text: the 30 bench story prompts and the 6 grounded stories (first paragraph),
  // leave-one-out: each text is scored with a datastore of the other 35 (optionally plus the generated stories
  // not sampled from it).
  const human = [
    ...prompts,
    ...readFileSync(new URL('../../../../bench/grounded.jsonl', import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => (JSON.parse(line) as { prompt: string }).prompt.split('\n\n')[0]),
  ].map(text => model.tokenizer.encode(text));
  const perText = await Promise.all(
    human.map(tokens => buildDatastore({ model, sequences: [tokens] })),
  );
  const generated = await buildDatastore({ model, sequences: corpus });
  // corpus[j] was sampled from prompts[floor(j / 4)] and starts with it verbatim: leave those out for that prompt.
  const perGenerated = await Promise.all(
    corpus.map(tokens => buildDatastore({ model, sequences: [tokens] })),
  );
  const concat = (parts: Datastore[]): Datastore => {
    const size = parts.reduce((sum, part) => sum + part.size, 0);
    const keys = new Float32Array(size * generated.dimensions);
    const values = new Int32Array(size);
    let row = 0;
    for (const part of parts) {
      keys.set(part.keys, row * generated.dimensions);
      values.set(part.values, row);
      row += part.size;
    }
    return { dimensions: generated.dimensions, size, keys, values };
  };
  const humanBase = await sequencePerplexity(model, human);
  const humanLines = [`| none (stories260K) | — | ${humanBase.perplexity.toFixed(3)} |`];
  for (const [name, withGenerated] of [
    ['other 35 human texts', false],
    ['other 35 human texts + 80 generated stories', true],
  ] as const) {
    for (const lambda of [0.1, 0.25, 0.5]) {
      let nll = 0;
      let count = 0;
      for (let i = 0; i < human.length; i++) {
        const parts = perText.filter((_, j) => j !== i);
        const datastore = concat(
          withGenerated
            ? [...parts, ...perGenerated.filter((_, j) => Math.floor(j / 4) !== i)]
            : parts,
        );
        const wrapped = wrapModel({
          model,
          middleware: knnLm({ datastore, search: exactSearch(datastore), lambda, k: 16 }),
        });
        const { perplexity, tokens } = await sequencePerplexity(wrapped, [human[i]]);
        nll += Math.log(perplexity) * tokens;
        count += tokens;
      }
      humanLines.push(`| ${name} | ${lambda} | ${Math.exp(nll / count).toFixed(3)} |`);
    }
  }
  console.log(
    [
      `human bench text, leave-one-out: ${humanBase.tokens} tokens`,
      '| datastore | λ | perplexity |',
      '|---|---:|---:|',
      ...humanLines,
    ].join('\n'),
  );
  console.log(
    [
      'held-out: ' + base.tokens + ' tokens',
      '| datastore | search | λ | k | held-out perplexity | ms / token |',
      '|---|---|---:|---:|---:|---:|',
      ...lines,
    ].join('\n'),
  );

  // Open-ended generation (the 2023 paper's question): sample 64 tokens from the 10 held-out prompts with and
  // without kNN-LM (temperature 1, top-p 0.9, seed 7), score with @decodekit/eval (perplexity under the base model).
  const datastore = await buildDatastore({ model, sequences: corpus });
  const knnDecoder = createDecoder({
    model: wrapModel({
      model,
      middleware: knnLm({ datastore, search: hnswSearch(datastore), lambda: 0.25 }),
    }),
  });
  const options = { temperature: 1, topP: 0.9, seed: 7 };
  const result = await evaluate({
    strategies: [
      {
        name: 'sampling',
        generate: (prompt, { maxTokens }) => decoder.generate(prompt, { maxTokens, ...options }),
      },
      {
        name: 'kNN-LM λ=0.25 sampling',
        generate: (prompt, { maxTokens }) => knnDecoder.generate(prompt, { maxTokens, ...options }),
      },
    ],
    prompts: prompts.slice(20),
    scoringModel: model,
    maxTokens: 64,
  });
  console.log(formatEvalTable(result));
  await model.dispose();
});
