// Builds a small retrieval set from bench/*.jsonl and prints nDCG@10 of BM25 vs SPLADE-from-stories260K.
// `npx vitest run --config packages/retrieval/splade/measure.config.ts packages/retrieval/splade/scripts/ndcg.measure.ts`
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder } from '@decodekit/core';
import { it } from 'vitest';
import {
  causalLmSplade,
  ndcgAtK,
  sparseIndex,
  type Scoring,
  type SparseEncoder,
} from '../src/index.js';
import { sqliteSparseStore } from '../src/sqlite.js';

it('nDCG@10: BM25 vs SPLADE from stories260K', async () => {
  const prompts = ['stories', 'grounded'].flatMap(name =>
    readFileSync(new URL(`../../../../bench/${name}.jsonl`, import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line) as { id: string; prompt: string }),
  );
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const decoder = createDecoder({ model });
  // Documents: stories260K's greedy 64-token continuation of each prompt (the prompt itself left out).
  // Queries: the prompt's first sentence; the one relevant document is the continuation of that prompt.
  const documents = [];
  for (const { id, prompt } of prompts) {
    const { text } = await decoder.generate(prompt, { maxTokens: 64, temperature: 0 });
    documents.push({ id, text: text.trim() });
  }
  const queries = prompts.map(({ id, prompt }) => ({ id, text: prompt.split(/(?<=[.!?])\s/)[0] }));
  const directory = mkdtempSync(join(tmpdir(), 'splade-ndcg-'));
  const rows: string[] = [];
  const configurations: { name: string; encoder?: SparseEncoder; scoring: Scoring }[] = [
    { name: 'BM25 (words, k1 1.2, b 0.75)', scoring: 'bm25' },
    {
      name: 'SPLADE stories260K, echo, top-256',
      encoder: causalLmSplade({ model, tokenizer: model.tokenizer }),
      scoring: 'splade',
    },
    {
      name: 'SPLADE stories260K, no echo, top-256',
      encoder: causalLmSplade({ model, tokenizer: model.tokenizer, echo: false }),
      scoring: 'splade',
    },
    {
      name: 'SPLADE stories260K, echo, top-64',
      encoder: causalLmSplade({ model, tokenizer: model.tokenizer, topK: 64 }),
      scoring: 'splade',
    },
  ];
  for (const { name, encoder, scoring } of configurations) {
    const store = await sqliteSparseStore({ path: join(directory, `${rows.length}.db`) });
    const index = sparseIndex({ store, encoder });
    const started = performance.now();
    await index.add(documents);
    const indexMs = performance.now() - started;
    let ndcg = 0;
    let top1 = 0;
    const searchStarted = performance.now();
    for (const query of queries) {
      const ranking = (await index.search(query.text, 10, { scoring })).map(hit => hit.id);
      ndcg += ndcgAtK(ranking, new Map([[query.id, 1]]), 10);
      if (ranking[0] === query.id) top1++;
    }
    const searchMs = (performance.now() - searchStarted) / queries.length;
    rows.push(
      `| ${name} | ${(ndcg / queries.length).toFixed(3)} | ${(top1 / queries.length).toFixed(3)} | ${(indexMs / documents.length).toFixed(1)} | ${searchMs.toFixed(1)} |`,
    );
    await store.close();
  }
  rmSync(directory, { recursive: true, force: true });
  await model.dispose();
  console.log(
    [
      `${documents.length} documents, ${queries.length} queries (one relevant document each), SQLite store`,
      '',
      '| ranking | nDCG@10 | top-1 accuracy | index ms / doc | search ms / query |',
      '|---|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  );
});
