import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { bm25Idf } from '@decodekit/core';
import { sparseIndex } from './sparse-index.js';
import type { SparseStore } from './sparse-store.js';
import { sparseFromEntries } from './sparse-vector.js';

/** Options of {@link runSparseStoreConformance}. */
export interface SparseStoreConformanceOptions {
  /** Shown in the test titles, e.g. `'postgres'`. */
  readonly name: string;
  /** Opens a fresh, empty store; every test opens its own and closes it. */
  readonly open: () => Promise<SparseStore>;
  /** When set, the whole suite is skipped and this reason is shown in its title. */
  readonly skip?: string;
}

const docs = [
  { id: 'a', text: 'the cat sat on the mat', metadata: { n: 1 } },
  { id: 'b', text: 'the dog ran in the park' },
  { id: 'c', text: 'a cat and a dog' },
];

/**
 * The behaviour every `SparseStore` shares (vitest): SPLADE dot-product ranking, Lucene BM25 checked by hand,
 * replace-on-upsert, deletes and their effect on BM25 statistics, `get` order and metadata. The memory,
 * SQLite and PostgreSQL stores run it; a third-party store (Elasticsearch, OpenSearch) can too.
 */
export function runSparseStoreConformance({
  name,
  open,
  skip,
}: SparseStoreConformanceOptions): void {
  describe.skipIf(skip !== undefined)(
    `${name} sparse store${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      it('ranks by sparse dot product and drops zero scores', async () => {
        const store = await open();
        await store.upsert([
          {
            id: 'x',
            text: 'x',
            vectors: {
              splade: sparseFromEntries([
                [1, 2],
                [2, 1],
              ]),
            },
          },
          { id: 'y', text: 'y', vectors: { splade: sparseFromEntries([[2, 3]]) } },
          { id: 'z', text: 'z', vectors: { splade: sparseFromEntries([[7, 9]]) } },
        ]);
        const hits = await store.searchDot(
          'splade',
          sparseFromEntries([
            [1, 1],
            [2, 1],
          ]),
          10,
        );
        expect(hits).toEqual(
          [
            { id: 'y', score: 3 },
            { id: 'x', score: 3 },
          ]
            .sort((p, q) => (p.id < q.id ? -1 : 1))
            .map(h => expect.objectContaining(h)),
        );
        expect(await store.searchDot('splade', sparseFromEntries([[1, 1]]), 1)).toEqual([
          { id: 'x', score: 2 },
        ]);
        expect(await store.searchDot('splade', sparseFromEntries([[99, 1]]), 5)).toEqual([]);
        expect(await store.searchDot('other-field', sparseFromEntries([[1, 1]]), 5)).toEqual([]);
        await expect(store.searchDot('splade', sparseFromEntries([[1, 1]]), 0)).rejects.toThrow(
          InvalidArgumentError,
        );
        await store.close();
      });

      it('scores fractional weights in double precision', async () => {
        const store = await open();
        const document = sparseFromEntries([
          [3, 0.1],
          [5, 0.7],
        ]);
        const query = sparseFromEntries([
          [3, 0.3],
          [5, 1.9],
        ]);
        await store.upsert([{ id: 'f', text: 'f', vectors: { splade: document } }]);
        const [hit] = await store.searchDot('splade', query, 1);
        // The float32 weights, multiplied and summed in double precision.
        expect(hit.score).toBeCloseTo(
          document.weights[0] * query.weights[0] + document.weights[1] * query.weights[1],
          12,
        );
        await store.close();
      });

      it('scores BM25 as Lucene does (hand-computed)', async () => {
        const store = await open();
        const index = sparseIndex({ store });
        await index.add(docs);
        // "cat": df = 2 of N = 3; a and b have 6 words, c has 5; avgdl = 17 / 3.
        const idf = bm25Idf(3, 2);
        const term = (tf: number, dl: number) =>
          (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / (17 / 3)));
        const hits = await index.search('cat', 10);
        expect(hits.map(hit => hit.id)).toEqual(['c', 'a']);
        expect(hits[0].score).toBeCloseTo(term(1, 5), 5);
        expect(hits[1].score).toBeCloseTo(term(1, 6), 5);
        expect(hits[1]).toMatchObject({ text: docs[0].text, metadata: { n: 1 } });
        // Two query terms add up; "the" occurs twice in a and b (tf = 2).
        const idfThe = bm25Idf(3, 2);
        const idfPark = bm25Idf(3, 1);
        const weight = (termIdf: number, tf: number, dl: number) =>
          (termIdf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / (17 / 3)));
        const both = await index.search('the park', 10);
        expect(both.map(hit => hit.id)).toEqual(['b', 'a']);
        expect(both[0].score).toBeCloseTo(weight(idfThe, 2, 6) + weight(idfPark, 1, 6), 5);
        expect(both[1].score).toBeCloseTo(weight(idfThe, 2, 6), 5);
        await store.close();
      });

      it('replaces on upsert, deletes, and updates BM25 statistics', async () => {
        const store = await open();
        const index = sparseIndex({ store });
        await index.add(docs);
        await index.add([{ id: 'a', text: 'a bird in a tree' }]);
        await store.delete(['b', 'missing']);
        expect(await store.count()).toBe(2);
        expect((await index.search('cat', 10)).map(hit => hit.id)).toEqual(['c']);
        expect((await index.search('bird', 10)).map(hit => hit.id)).toEqual(['a']);
        expect(await store.get(['b', 'a'])).toEqual([{ id: 'a', text: 'a bird in a tree' }]);
        await store.close();
      });

      it('returns documents in the order asked, with their metadata; the last of a repeated id wins', async () => {
        const store = await open();
        const metadata = {
          source: 'wiki',
          tags: ['x', 'y'],
          nested: { depth: 2, ok: true },
          quote: 'say "hi" \\ bye',
        };
        await store.upsert([
          { id: 'p', text: 'first p', vectors: { lexical: sparseFromEntries([[1, 1]]) } },
          { id: 'q', text: 'q', metadata, vectors: { lexical: sparseFromEntries([[2, 1]]) } },
          { id: 'p', text: 'second p', vectors: { lexical: sparseFromEntries([[3, 1]]) } },
        ]);
        expect(await store.count()).toBe(2);
        expect(await store.get(['q', 'nope', 'p'])).toEqual([
          { id: 'q', text: 'q', metadata },
          { id: 'p', text: 'second p' },
        ]);
        expect(await store.searchDot('lexical', sparseFromEntries([[1, 1]]), 3)).toEqual([]);
        expect(await store.searchDot('lexical', sparseFromEntries([[3, 2]]), 3)).toEqual([
          { id: 'p', score: 2 },
        ]);
        await store.upsert([]);
        await store.delete([]);
        expect(await store.get([])).toEqual([]);
        await store.close();
      });
    },
  );
}
