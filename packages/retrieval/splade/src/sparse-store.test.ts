import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { memorySparseStore } from './memory-sparse-store.js';
import { bm25Idf } from './scoring.js';
import { sparseIndex } from './sparse-index.js';
import type { SparseStore } from './sparse-store.js';
import { sparseFromEntries } from './sparse-vector.js';
import { sqliteSparseStore } from './sqlite-sparse-store.js';
import { termId, wordAnalyzer } from './word-analyzer.js';

// better-sqlite3 is an optional native dependency: where it was not built (no Node headers at install time),
// the SQLite cases are skipped with this reason and the error path is tested instead.
const sqliteMissing = await import('better-sqlite3').then(
  module => { new (module.default as unknown as new (path: string) => { close(): void })(':memory:').close(); return undefined; },
  (error: unknown) => `better-sqlite3 not built (${String(error).slice(0, 80)}); reinstall with npm_config_nodedir=/usr`,
).catch((error: unknown) => `better-sqlite3 failed to open (${String(error).slice(0, 80)})`);

const directory = mkdtempSync(join(tmpdir(), 'splade-store-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const stores: { name: string; open: () => Promise<SparseStore> }[] = [
  { name: 'memory', open: async () => memorySparseStore() },
  ...(sqliteMissing ? [] : [{ name: 'sqlite', open: () => sqliteSparseStore({ path: join(directory, `${Math.random()}.db`) }) }]),
];

const docs = [
  { id: 'a', text: 'the cat sat on the mat', metadata: { n: 1 } },
  { id: 'b', text: 'the dog ran in the park' },
  { id: 'c', text: 'a cat and a dog' },
];

describe.each(stores)('$name store', ({ open }) => {
  it('ranks by sparse dot product and drops zero scores', async () => {
    const store = await open();
    await store.upsert([
      { id: 'x', text: 'x', vectors: { splade: sparseFromEntries([[1, 2], [2, 1]]) } },
      { id: 'y', text: 'y', vectors: { splade: sparseFromEntries([[2, 3]]) } },
      { id: 'z', text: 'z', vectors: { splade: sparseFromEntries([[7, 9]]) } },
    ]);
    const hits = await store.searchDot('splade', sparseFromEntries([[1, 1], [2, 1]]), 10);
    expect(hits).toEqual([{ id: 'y', score: 3 }, { id: 'x', score: 3 }].sort((p, q) => (p.id < q.id ? -1 : 1)).map(h => expect.objectContaining(h)));
    expect(await store.searchDot('splade', sparseFromEntries([[1, 1]]), 1)).toEqual([{ id: 'x', score: 2 }]);
    await expect(store.searchDot('splade', sparseFromEntries([[1, 1]]), 0)).rejects.toThrow(InvalidArgumentError);
    await store.close();
  });

  it('scores BM25 as Lucene does (hand-computed)', async () => {
    const store = await open();
    const index = sparseIndex({ store });
    await index.add(docs);
    // "cat": df = 2 of N = 3; a and b have 6 words, c has 5; avgdl = 17 / 3.
    const idf = bm25Idf(3, 2);
    const term = (tf: number, dl: number) => (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / (17 / 3)));
    const hits = await index.search('cat', 10);
    expect(hits.map(hit => hit.id)).toEqual(['c', 'a']);
    expect(hits[0].score).toBeCloseTo(term(1, 5), 5);
    expect(hits[1].score).toBeCloseTo(term(1, 6), 5);
    expect(hits[1]).toMatchObject({ text: docs[0].text, metadata: { n: 1 } });
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
});

describe.skipIf(sqliteMissing !== undefined)(`sqliteSparseStore persistence${sqliteMissing ? ` (skipped: ${sqliteMissing})` : ''}`, () => {
  it('reopens a file with the same postings and scores', async () => {
    const path = join(directory, 'persist.db');
    const first = await sqliteSparseStore({ path });
    await sparseIndex({ store: first }).add(docs);
    const before = await sparseIndex({ store: first }).search('dog park', 3);
    await first.close();
    const second = await sqliteSparseStore({ path, readonly: true });
    const after = await sparseIndex({ store: second }).search('dog park', 3);
    expect(after).toEqual(before);
    expect(after[0].id).toBe('b');
    await second.close();
  });
});

describe('wordAnalyzer', () => {
  it('counts lower-cased words under stable ids', async () => {
    const vector = await wordAnalyzer({ stopWords: ['the'] }).encode('The cat, the CAT and Tom\'s hat');
    const counts = new Map(Array.from(vector.terms, (term, i) => [term, vector.weights[i]]));
    expect(counts.get(termId('cat'))).toBe(2);
    expect(counts.get(termId("tom's"))).toBe(1);
    expect(counts.has(termId('the'))).toBe(false);
    expect(termId('cat')).toBe(termId('cat'));
  });
});

describe('sparseIndex', () => {
  it('needs an encoder for SPLADE scoring and validates BM25 parameters', async () => {
    const index = sparseIndex({ store: memorySparseStore() });
    await expect(index.search('x', 1, { scoring: 'splade' })).rejects.toThrow(InvalidArgumentError);
    expect(() => sparseIndex({ store: memorySparseStore(), bm25: { k1: 1.2, b: 2 } })).toThrow(InvalidArgumentError);
  });
});
