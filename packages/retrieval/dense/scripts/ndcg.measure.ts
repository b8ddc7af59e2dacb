// The splade retrieval set (bench/*.jsonl) with dense rankings from stories260K hidden states vs BM25.
// `npx vitest run --config packages/retrieval/dense/measure.config.ts packages/retrieval/dense/scripts/ndcg.measure.ts`
import { readFileSync } from 'node:fs';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder } from '@decodekit/core';
import { memorySparseStore, ndcgAtK, sparseIndex } from '@decodekit/retrieval-splade';
import { it } from 'vitest';
import {
  causalLmEmbedder,
  denseIndex,
  memoryDenseStore,
  type DenseScoring,
  type Pooling,
  type Retriever,
} from '../src/index.js';

it('nDCG@10: dense pooling and binary codes vs BM25', async () => {
  const prompts = ['stories', 'grounded'].flatMap(name =>
    readFileSync(new URL(`../../../../bench/${name}.jsonl`, import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line) as { id: string; prompt: string }),
  );
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const decoder = createDecoder({ model });
  // Same set as splade's script: documents = greedy 64-token continuations, queries = first prompt sentences.
  const documents = [];
  for (const { id, prompt } of prompts) {
    const { text } = await decoder.generate(prompt, { maxTokens: 64, temperature: 0 });
    documents.push({ id, text: text.trim() });
  }
  const queries = prompts.map(({ id, prompt }) => ({ id, text: prompt.split(/(?<=[.!?])\s/)[0] }));
  const rows: string[] = [];
  async function measure(
    name: string,
    build: () => Promise<{ retriever: Retriever; indexMs: number }>,
  ): Promise<void> {
    const { retriever, indexMs } = await build();
    let ndcg = 0;
    let top1 = 0;
    const started = performance.now();
    for (const query of queries) {
      const ranking = (await retriever.search(query.text, 10)).map(hit => hit.id);
      ndcg += ndcgAtK(ranking, new Map([[query.id, 1]]), 10);
      if (ranking[0] === query.id) top1++;
    }
    const searchMs = (performance.now() - started) / queries.length;
    rows.push(
      `| ${name} | ${(ndcg / queries.length).toFixed(3)} | ${(top1 / queries.length).toFixed(3)} | ${(indexMs / documents.length).toFixed(1)} | ${searchMs.toFixed(1)} |`,
    );
  }
  await measure('BM25 (words, k1 1.2, b 0.75)', async () => {
    const index = sparseIndex({ store: memorySparseStore() });
    const started = performance.now();
    await index.add(documents);
    return { retriever: index.asRetriever('bm25'), indexMs: performance.now() - started };
  });
  const configurations: {
    name: string;
    pooling: Pooling;
    echo?: boolean;
    scoring: DenseScoring;
    candidates?: number;
  }[] = [
    { name: 'dense mean, cosine', pooling: 'mean', scoring: 'cosine' },
    { name: 'dense last-token, cosine', pooling: 'last', scoring: 'cosine' },
    { name: 'dense first-token (CLS-style), cosine', pooling: 'first', scoring: 'cosine' },
    { name: 'dense mean, echo, cosine', pooling: 'mean', echo: true, scoring: 'cosine' },
    { name: 'binary mean (64 bits), Hamming', pooling: 'mean', scoring: 'hamming' },
    {
      name: 'binary mean, Hamming top-16 → cosine',
      pooling: 'mean',
      scoring: 'hamming-rerank',
      candidates: 16,
    },
    { name: 'binary last-token (64 bits), Hamming', pooling: 'last', scoring: 'hamming' },
  ];
  for (const { name, pooling, echo, scoring, candidates } of configurations) {
    await measure(name, async () => {
      const index = denseIndex({
        store: memoryDenseStore(),
        embedder: causalLmEmbedder({ model, tokenizer: model.tokenizer, pooling, echo }),
        candidates,
      });
      const started = performance.now();
      await index.add(documents);
      return { retriever: index.asRetriever(scoring), indexMs: performance.now() - started };
    });
  }
  await model.dispose();
  console.log(
    [
      `${documents.length} documents, ${queries.length} queries (one relevant document each), hidden size ${model.info.hiddenSize}`,
      '',
      '| ranking | nDCG@10 | top-1 accuracy | index ms / doc | search ms / query |',
      '|---|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  );
});
