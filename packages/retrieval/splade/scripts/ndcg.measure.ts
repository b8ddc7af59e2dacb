// nDCG@10 on the held-out bench (bench/*.jsonl, see splade-bench.ts): BM25 vs SPLADE from stories260K, untrained
// and fine-tuned as a SPLADE encoder (weights/stories260K-splade.bin, `decodekit train splade`, README).
// `npx vitest run --config packages/retrieval/splade/measure.config.ts packages/retrieval/splade/scripts/ndcg.measure.ts`
// SPLADE_CHECKPOINT=<file.bin> measures another tuned llama2.c checkpoint in place of the committed one.
// SPLADE_VALIDATION=<pairs.json>:<first> also scores pairs[first..] of a `decodekit train splade` pairs.json (pairs the
// checkpoint was not trained on, e.g. the last 400 of a --count 4000 run for a checkpoint trained on the first 3,600).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadModel } from '@decodekit/backend-onnx';
import { it } from 'vitest';
import {
  causalLmSplade,
  sparseIndex,
  tokenAnalyzer,
  type Scoring,
  type SparseEncoder,
} from '../src/index.js';
import { sqliteSparseStore } from '../src/sqlite.js';
import { benchScores, spladeBench, spladeModelFolder } from './splade-bench.js';

it('nDCG@10: BM25 vs SPLADE from stories260K, untrained and tuned', async () => {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const tuned = await loadModel(
    spladeModelFolder(
      process.env.SPLADE_CHECKPOINT ? resolve(process.env.SPLADE_CHECKPOINT) : undefined,
    ),
  );
  const bench = await spladeBench(model);
  const directory = mkdtempSync(join(tmpdir(), 'splade-ndcg-'));
  let stores = 0;
  const configurations: {
    name: string;
    encoder?: SparseEncoder;
    analyzer?: SparseEncoder;
    scoring: Scoring;
  }[] = [
    { name: 'BM25 (words, k1 1.2, b 0.75)', scoring: 'bm25' },
    {
      // The lexical ceiling of a SPLADE vector over the same 512 token ids.
      name: 'BM25 (tok512 token ids, k1 1.2, b 0.75)',
      analyzer: tokenAnalyzer({ tokenizer: model.tokenizer }),
      scoring: 'bm25',
    },
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
    {
      name: 'SPLADE stories260K-splade (tuned), echo, top-256',
      encoder: causalLmSplade({ model: tuned, tokenizer: tuned.tokenizer }),
      scoring: 'splade',
    },
    {
      name: 'SPLADE stories260K-splade (tuned), echo, top-64',
      encoder: causalLmSplade({ model: tuned, tokenizer: tuned.tokenizer, topK: 64 }),
      scoring: 'splade',
    },
  ];
  /** One table row per configuration over a document set whose query i has the relevant document of id i. */
  const table = async (
    documents: { id: string; text: string }[],
    queries: { id: string; text: string }[],
  ): Promise<string> => {
    const rows: string[] = [];
    for (const { name, encoder, analyzer, scoring } of configurations) {
      const store = await sqliteSparseStore({ path: join(directory, `${stores++}.db`) });
      const index = sparseIndex({ store, encoder, ...(analyzer ? { analyzer } : {}) });
      const started = performance.now();
      await index.add(documents);
      const indexMs = performance.now() - started;
      const searchStarted = performance.now();
      const { ndcg, top1 } = await benchScores(index, queries, scoring);
      const searchMs = (performance.now() - searchStarted) / queries.length;
      let terms = '';
      if (encoder) {
        let total = 0;
        for (const document of documents)
          total += (await encoder.encode(document.text)).terms.length;
        terms = (total / documents.length).toFixed(0);
      }
      rows.push(
        `| ${name} | ${ndcg.toFixed(3)} | ${top1.toFixed(3)} | ${terms} | ${(indexMs / documents.length).toFixed(1)} | ${searchMs.toFixed(1)} |`,
      );
      await store.close();
    }
    return [
      `${documents.length} documents, ${queries.length} queries (one relevant document each), SQLite store`,
      '',
      '| ranking | nDCG@10 | top-1 accuracy | terms / doc | index ms / doc | search ms / query |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n');
  };
  console.log(`held-out bench (bench/*.jsonl): ${await table(bench.documents, bench.queries)}`);
  if (process.env.SPLADE_VALIDATION) {
    const at = process.env.SPLADE_VALIDATION.lastIndexOf(':');
    const file = process.env.SPLADE_VALIDATION.slice(0, at);
    const first = Number(process.env.SPLADE_VALIDATION.slice(at + 1));
    const pairs = (
      JSON.parse(readFileSync(resolve(file), 'utf8')) as {
        pairs: { query: string; document: string }[];
      }
    ).pairs.slice(first);
    console.log(
      `\nvalidation (pairs ${first}..${first + pairs.length - 1} of ${file}): ${await table(
        pairs.map((pair, i) => ({ id: String(i), text: pair.document })),
        pairs.map((pair, i) => ({ id: String(i), text: pair.query })),
      )}`,
    );
  }
  rmSync(directory, { recursive: true, force: true });
  await Promise.all([model.dispose(), tuned.dispose()]);
});
