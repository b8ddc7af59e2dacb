import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { memorySparseStore } from './memory-sparse-store.js';
import { sparseIndex } from './sparse-index.js';
import { runSparseStoreConformance } from './sparse-store-conformance.js';
import { sqliteSparseStore } from './sqlite-sparse-store.js';
import { termId, wordAnalyzer } from './word-analyzer.js';

// better-sqlite3 is an optional native dependency: where it was not built (no Node headers at install time),
// the SQLite cases are skipped with this reason and the error path is tested instead.
const sqliteMissing = await import('better-sqlite3')
  .then(
    module => {
      new (module.default as unknown as new (path: string) => { close(): void })(
        ':memory:',
      ).close();
      return undefined;
    },
    (error: unknown) =>
      `better-sqlite3 not built (${String(error).slice(0, 80)}); reinstall with npm_config_nodedir=/usr`,
  )
  .catch((error: unknown) => `better-sqlite3 failed to open (${String(error).slice(0, 80)})`);

const directory = mkdtempSync(join(tmpdir(), 'splade-store-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const docs = [
  { id: 'a', text: 'the cat sat on the mat', metadata: { n: 1 } },
  { id: 'b', text: 'the dog ran in the park' },
  { id: 'c', text: 'a cat and a dog' },
];

runSparseStoreConformance({ name: 'memory', open: async () => memorySparseStore() });
runSparseStoreConformance({
  name: 'sqlite',
  open: () => sqliteSparseStore({ path: join(directory, `${Math.random()}.db`) }),
  skip: sqliteMissing,
});

describe.skipIf(sqliteMissing !== undefined)(
  `sqliteSparseStore persistence${sqliteMissing ? ` (skipped: ${sqliteMissing})` : ''}`,
  () => {
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
  },
);

describe('wordAnalyzer', () => {
  it('counts lower-cased words under stable ids', async () => {
    const vector = await wordAnalyzer({ stopWords: ['the'] }).encode(
      "The cat, the CAT and Tom's hat",
    );
    const counts = new Map(Array.from(vector.terms, (term, i) => [term, vector.weights[i]]));
    expect(counts.get(termId('cat'))).toBe(2);
    expect(counts.get(termId('toms'))).toBe(1); // core's analyzer: apostrophes between letters dropped
    expect(counts.has(termId('the'))).toBe(false);
    expect(termId('cat')).toBe(termId('cat'));
  });
});

describe('sparseIndex', () => {
  it('needs an encoder for SPLADE scoring and validates BM25 parameters', async () => {
    const index = sparseIndex({ store: memorySparseStore() });
    await expect(index.search('x', 1, { scoring: 'splade' })).rejects.toThrow(InvalidArgumentError);
    expect(() => sparseIndex({ store: memorySparseStore(), bm25: { k1: 1.2, b: 2 } })).toThrow(
      InvalidArgumentError,
    );
  });
});
