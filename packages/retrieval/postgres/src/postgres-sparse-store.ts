import { invariant } from '@decodekit/core';
import type { IndexedDocument, ScoredId, SparseStore } from '@decodekit/retrieval-splade';
import {
  checkK,
  checkStorable,
  inRequestedOrder,
  lastOfEachId,
  openPostgres,
  type PostgresStoreOptions,
} from './postgres-connection.js';

/** Options of `postgresSparseStore`. */
export type PostgresSparseStoreOptions = PostgresStoreOptions;

/**
 * The inverted index, as SQLite's store has it: postings clustered by (field, term), so a query reads only
 * its terms' posting lists; per-field document lengths for BM25; documents with an internal bigint key.
 * Ids are compared byte-wise (COLLATE "C") so ties go to the lower id exactly as in JavaScript.
 */
const ddl = (schema: string): string => `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.sparse_documents (
  doc bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  text text NOT NULL,
  metadata jsonb
);
CREATE TABLE IF NOT EXISTS ${schema}.sparse_postings (
  field text COLLATE "C" NOT NULL,
  term integer NOT NULL,
  doc bigint NOT NULL REFERENCES ${schema}.sparse_documents (doc) ON DELETE CASCADE,
  weight double precision NOT NULL,
  PRIMARY KEY (field, term, doc)
);
CREATE INDEX IF NOT EXISTS sparse_postings_by_doc ON ${schema}.sparse_postings (doc);
CREATE TABLE IF NOT EXISTS ${schema}.sparse_lengths (
  field text COLLATE "C" NOT NULL,
  doc bigint NOT NULL REFERENCES ${schema}.sparse_documents (doc) ON DELETE CASCADE,
  length double precision NOT NULL,
  PRIMARY KEY (field, doc)
);
CREATE INDEX IF NOT EXISTS sparse_lengths_by_doc ON ${schema}.sparse_lengths (doc);
`;

/**
 * A `SparseStore` on PostgreSQL (node-postgres): the SPLADE dot product and Lucene's BM25 are computed by the
 * server in one query each (only the top `k` ids travel back), every upsert or delete is one transaction,
 * and any number of processes — stateless `decodekit serve` replicas — share one index. Scores match
 * `memorySparseStore` (double precision over the float32 weights). Node only.
 *
 * @example
 * const store = await postgresSparseStore({ connectionString: process.env.DATABASE_URL, schema: 'wiki' });
 * const index = sparseIndex({ store }); // BM25, or SPLADE with an encoder
 * await index.add([{ id: 'a', text: 'Tom had a red ball.' }]);
 * console.log(await index.search('red ball', 5));
 * await store.close();
 */
export async function postgresSparseStore(
  options: PostgresSparseStoreOptions,
): Promise<SparseStore> {
  const db = await openPostgres(options, ddl);
  const { schema } = db;
  const score = (rows: { id: string; score: number }[]): ScoredId[] =>
    rows.map(row => ({ id: row.id, score: row.score }));
  return {
    async upsert(batch: readonly IndexedDocument[]) {
      const documents = lastOfEachId(batch);
      if (documents.length === 0) return;
      const metadata = documents.map(checkStorable);
      await db.transaction('upserting documents', async client => {
        const ids = documents.map(document => document.id);
        // Replacing a document drops its postings and lengths through ON DELETE CASCADE.
        await client.query(`DELETE FROM ${schema}.sparse_documents WHERE id = ANY($1::text[])`, [
          ids,
        ]);
        const inserted = await client.query<{ doc: string; id: string }>(
          `INSERT INTO ${schema}.sparse_documents (id, text, metadata)
           SELECT id, text, metadata::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, text, metadata)
           RETURNING doc, id`,
          [ids, documents.map(document => document.text), metadata],
        );
        const docOf = new Map(inserted.rows.map(row => [row.id, row.doc]));
        const postings = {
          field: [] as string[],
          term: [] as number[],
          doc: [] as string[],
          weight: [] as number[],
        };
        const lengths = { field: [] as string[], doc: [] as string[], length: [] as number[] };
        for (const document of documents) {
          const doc = docOf.get(document.id);
          invariant(doc !== undefined, `the insert returned no row for document ${document.id}`);
          for (const [field, vector] of Object.entries(document.vectors)) {
            let length = 0;
            for (let i = 0; i < vector.terms.length; i++) {
              postings.field.push(field);
              postings.term.push(vector.terms[i]);
              postings.doc.push(doc);
              postings.weight.push(vector.weights[i]);
              length += vector.weights[i];
            }
            lengths.field.push(field);
            lengths.doc.push(doc);
            lengths.length.push(length);
          }
        }
        await client.query(
          `INSERT INTO ${schema}.sparse_postings (field, term, doc, weight)
           SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::double precision[])`,
          [postings.field, postings.term, postings.doc, postings.weight],
        );
        await client.query(
          `INSERT INTO ${schema}.sparse_lengths (field, doc, length)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::double precision[])`,
          [lengths.field, lengths.doc, lengths.length],
        );
      });
    },
    async delete(ids) {
      if (ids.length === 0) return;
      await db.transaction('deleting documents', client =>
        client.query(`DELETE FROM ${schema}.sparse_documents WHERE id = ANY($1::text[])`, [
          [...ids],
        ]),
      );
    },
    async get(ids) {
      if (ids.length === 0) return [];
      const rows = await db.query<{
        id: string;
        text: string;
        metadata: Record<string, unknown> | null;
      }>(
        'reading documents',
        `SELECT id, text, metadata FROM ${schema}.sparse_documents WHERE id = ANY($1::text[])`,
        [[...ids]],
      );
      return inRequestedOrder(ids, rows);
    },
    async count() {
      const [row] = await db.query<{ n: number }>(
        'counting documents',
        `SELECT count(*)::integer AS n FROM ${schema}.sparse_documents`,
      );
      return row.n;
    },
    async searchDot(field, query, k) {
      checkK(k, 1);
      if (query.terms.length === 0) return [];
      const rows = await db.query<{ id: string; score: number }>(
        'searching (dot product)',
        `SELECT d.id, s.score FROM (
           SELECT p.doc, sum(p.weight * q.weight) AS score
           FROM unnest($2::integer[], $3::double precision[]) AS q(term, weight)
           JOIN ${schema}.sparse_postings p ON p.field = $1 AND p.term = q.term
           GROUP BY p.doc
         ) s JOIN ${schema}.sparse_documents d ON d.doc = s.doc
         WHERE s.score > 0
         ORDER BY s.score DESC, d.id
         LIMIT $4`,
        [field, Array.from(query.terms), Array.from(query.weights), k],
      );
      return score(rows);
    },
    async searchBm25(field, query, k, { k1, b }) {
      checkK(k, 1);
      if (query.terms.length === 0) return [];
      // Lucene's BM25 as memorySparseStore computes it: N and avgdl over the documents that have `field`,
      // df = postings of the term, idf = ln(1 + (N − df + 0.5) / (df + 0.5)), summed × query weight.
      const rows = await db.query<{ id: string; score: number }>(
        'searching (BM25)',
        `WITH q AS (
           SELECT term, weight FROM unnest($2::integer[], $3::double precision[]) AS q(term, weight)
         ), stats AS (
           SELECT count(*)::double precision AS n, coalesce(nullif(avg(length), 0), 1) AS avgdl
           FROM ${schema}.sparse_lengths WHERE field = $1
         ), hits AS (
           SELECT p.term, p.doc, p.weight AS tf, q.weight AS qw
           FROM q JOIN ${schema}.sparse_postings p ON p.field = $1 AND p.term = q.term
         ), df AS (
           SELECT term, count(*)::double precision AS df FROM hits GROUP BY term
         ), scored AS (
           SELECT h.doc, sum(
             ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * h.tf * ($5::double precision + 1)
             / (h.tf + $5::double precision * (1 - $6::double precision + $6::double precision * l.length / stats.avgdl))
             * h.qw) AS score
           FROM hits h JOIN df ON df.term = h.term CROSS JOIN stats
           JOIN ${schema}.sparse_lengths l ON l.field = $1 AND l.doc = h.doc
           GROUP BY h.doc
         )
         SELECT d.id, s.score FROM scored s JOIN ${schema}.sparse_documents d ON d.doc = s.doc
         WHERE s.score > 0
         ORDER BY s.score DESC, d.id
         LIMIT $4`,
        [field, Array.from(query.terms), Array.from(query.weights), k, k1, b],
      );
      return score(rows);
    },
    close: () => db.close(),
  };
}
