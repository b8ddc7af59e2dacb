/**
 * The PostgreSQL stores against a real server: the shared SparseStore / DenseStore suites, then what only a
 * server database has (several processes on one index, transactions, pools, connection errors).
 * DECODEKIT_TEST_POSTGRES_URL names a database the tests may create schemas in; .ci/run starts a throwaway
 * PostgreSQL on 127.0.0.1 and sets it. Without it the server cases are skipped with that reason.
 */
import { BackendError, InvalidArgumentError } from '@decodekit/core';
import { denseIndex, l2Normalize } from '@decodekit/retrieval-dense';
import { runDenseStoreConformance } from '@decodekit/retrieval-dense/testing';
import { sparseFromEntries, sparseIndex } from '@decodekit/retrieval-splade';
import { runSparseStoreConformance } from '@decodekit/retrieval-splade/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresDenseStore, postgresSparseStore } from './index.js';

const url = process.env.DECODEKIT_TEST_POSTGRES_URL;
const skip = url
  ? undefined
  : 'DECODEKIT_TEST_POSTGRES_URL is not set; .ci/run starts a PostgreSQL on 127.0.0.1 and sets it';

// Every store gets a schema of its own; all are dropped at the end.
const schemas: string[] = [];
const freshSchema = (): string => {
  const schema = `decodekit_test_${process.pid}_${schemas.length}_${Math.random().toString(36).slice(2, 8)}`;
  schemas.push(schema);
  return schema;
};
afterAll(async () => {
  if (!url || schemas.length === 0) return;
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  for (const schema of schemas)
    await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await pool.end();
});

runSparseStoreConformance({
  name: 'postgres',
  open: () =>
    postgresSparseStore({ connectionString: url ?? '', schema: freshSchema(), maxConnections: 2 }),
  skip,
});
runDenseStoreConformance({
  name: 'postgres',
  open: () =>
    postgresDenseStore({ connectionString: url ?? '', schema: freshSchema(), maxConnections: 2 }),
  skip,
});

const docs = [
  { id: 'a', text: 'the cat sat on the mat' },
  { id: 'b', text: 'the dog ran in the park' },
  { id: 'c', text: 'a cat and a dog' },
];

describe.skipIf(skip !== undefined)(
  `PostgreSQL stores as a shared index${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    it('replicas opening one schema at once share its index, and it outlives them', async () => {
      const schema = freshSchema();
      // Four "replicas" create the same tables concurrently (the advisory lock serializes the DDL).
      const replicas = await Promise.all(
        Array.from({ length: 4 }, () =>
          postgresSparseStore({ connectionString: url ?? '', schema, maxConnections: 1 }),
        ),
      );
      await sparseIndex({ store: replicas[0] }).add(docs);
      const hits = await Promise.all(
        replicas.map(store => sparseIndex({ store }).search('dog park', 2)),
      );
      for (const result of hits) expect(result.map(hit => hit.id)).toEqual(['b', 'c']);
      await Promise.all(replicas.map(store => store.close()));
      const reopened = await postgresSparseStore({ connectionString: url ?? '', schema });
      expect(await reopened.count()).toBe(3);
      expect(await sparseIndex({ store: reopened }).search('dog park', 2)).toEqual(hits[0]);
      await reopened.close();
    });

    it('rolls a failed upsert back whole: the replaced document is still there', async () => {
      const store = await postgresSparseStore({
        connectionString: url ?? '',
        schema: freshSchema(),
      });
      await store.upsert([
        { id: 'a', text: 'kept', vectors: { splade: sparseFromEntries([[1, 1]]) } },
      ]);
      // A hand-built vector that repeats a term breaks the postings' primary key after 'a' was deleted.
      const broken = { terms: Int32Array.from([5, 5]), weights: Float32Array.from([1, 1]) };
      const failed = store.upsert([
        { id: 'a', text: 'replacement', vectors: { splade: sparseFromEntries([[2, 1]]) } },
        { id: 'b', text: 'broken', vectors: { splade: broken } },
      ]);
      await expect(failed).rejects.toThrow(BackendError);
      await expect(failed).rejects.toThrow(
        /PostgreSQL upserting documents failed: .*duplicate key/,
      );
      expect(await store.get(['a', 'b'])).toEqual([{ id: 'a', text: 'kept' }]);
      expect(await store.searchDot('splade', sparseFromEntries([[1, 1]]), 5)).toEqual([
        { id: 'a', score: 1 },
      ]);
      await expect(store.upsert([{ id: 'n\0ul', text: 'x', vectors: {} }])).rejects.toThrow(
        InvalidArgumentError,
      );
      await store.close();
      await expect(store.count()).rejects.toThrow(InvalidArgumentError);
    });

    it('shares a caller-owned pool between a sparse and a dense store and leaves it open', async () => {
      const pool = new pg.Pool({ connectionString: url ?? '', max: 2 });
      const schema = freshSchema();
      const sparse = await postgresSparseStore({ pool, schema });
      const dense = await postgresDenseStore({ pool, schema });
      const unit = (values: number[]) => l2Normalize(Float32Array.from(values));
      // One signed dimension per word, so each document has its own sign code.
      const embedder = {
        name: 'words',
        dimensions: 4,
        embed: async (text: string) =>
          unit(['cat', 'dog', 'park', 'mat'].map(word => (text.includes(word) ? 1 : -1))),
      };
      const index = denseIndex({ store: dense, embedder, candidates: 2 });
      await index.add(docs);
      await sparseIndex({ store: sparse }).add(docs);
      expect((await index.search('a cat and a dog', 1, { scoring: 'hamming-rerank' }))[0].id).toBe(
        'c',
      );
      expect(await sparse.count()).toBe(3);
      await sparse.close();
      await dense.close();
      const { rows } = await pool.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      );
      expect(rows.map(row => row.table_name)).toEqual([
        'dense_documents',
        'dense_settings',
        'sparse_documents',
        'sparse_lengths',
        'sparse_postings',
      ]);
      await pool.end();
    });
  },
);

describe('PostgreSQL store options and connection errors (no server needed)', () => {
  it('rejects bad options with a typed error', async () => {
    await expect(postgresSparseStore({} as never)).rejects.toThrow(InvalidArgumentError);
    await expect(
      postgresSparseStore({ connectionString: 'mysql://x', schema: 's' }),
    ).rejects.toThrow(/postgres:\/\//);
    await expect(
      postgresDenseStore({ connectionString: 'postgres://127.0.0.1/x', schema: '' }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      postgresDenseStore({ connectionString: 'postgres://127.0.0.1/x', maxConnections: 0 }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      postgresDenseStore({ connectionString: 'postgres://127.0.0.1/x', pool: new pg.Pool() }),
    ).rejects.toThrow(/exactly one of connectionString/);
  });

  it('says what to do when nothing listens at the URL', async () => {
    // Port 1 on the loopback refuses at once.
    const opening = postgresSparseStore({
      connectionString: 'postgres://user:secret@127.0.0.1:1/none',
    });
    await expect(opening).rejects.toThrow(BackendError);
    await expect(opening).rejects.toThrow(/ECONNREFUSED.*Start the PostgreSQL server/);
    await expect(opening).rejects.not.toThrow(/secret/);
  });
});
