import { textTermIds } from '@decodekit/core';
import { bm25ChunkScorer } from '@decodekit/retrieval-rapid';
import { memorySparseStore, sparseIndex } from '@decodekit/retrieval-splade';
import { describe, expect, it } from 'vitest';
import { bm25Index } from './bm25-index.js';

// Apostrophes (straight and curly), case, full-width letters and repeated words: what analyzers disagree on.
const corpus = [
  "Lily's red ball rolled under Tom's bed.",
  'Tom’s dog found the RED ball and the red kite.',
  'The kite flew over the park; nobody found it.',
  'Ｌｉｌｙ and Tom played ball in the park all day, ball after ball.',
  'A quiet afternoon.',
];
const queries = ["lily's ball", 'Lilys red red ball', 'the park kite', 'toms dog', 'unicorn'];

describe('one BM25 with one analyzer', () => {
  it.each(queries)(
    'LangChain’s bm25Index, SPLADE’s BM25 baseline and RAPID’s chunk scorer score "%s" the same',
    async query => {
      const documents = corpus.map((text, i) => ({ id: `d${i}`, text }));
      const langchain = bm25Index(documents).scores(query);

      const splade = sparseIndex({ store: memorySparseStore() });
      await splade.add(documents);
      const spladeHits = await splade.search(query, corpus.length, { scoring: 'bm25' });
      const spladeScores = new Map(spladeHits.map(hit => [hit.id, hit.score]));

      // RAPID works on ids: the same analyzer's term ids stand in for token ids.
      const rapid = await bm25ChunkScorer()(corpus.map(textTermIds), textTermIds(query));

      corpus.forEach((_, i) => {
        const expected = langchain.get(`d${i}`) ?? 0;
        expect(spladeScores.get(`d${i}`) ?? 0, `splade d${i}`).toBeCloseTo(expected, 10);
        expect(rapid[i], `rapid d${i}`).toBeCloseTo(expected, 10);
      });
      if (query !== 'unicorn') expect(Math.max(...langchain.values())).toBeGreaterThan(0);
    },
  );
});
