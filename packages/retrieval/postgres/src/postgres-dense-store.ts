import { InvalidArgumentError } from '@decodekit/core';
import {
  binaryCode,
  type DenseStore,
  type EmbeddedDocument,
  type ScoredId,
} from '@decodekit/retrieval-dense';
import {
  checkK,
  checkStorable,
  inRequestedOrder,
  lastOfEachId,
  openPostgres,
  type PostgresStoreOptions,
} from './postgres-connection.js';

/** Options of `postgresDenseStore`. */
export type PostgresDenseStoreOptions = PostgresStoreOptions;

/**
 * Vectors as `real[]` (float32, exactly the values given) and their sign codes as `bit varying`, so Hamming
 * distance is one XOR and `bit_count` (PostgreSQL 14+) per row. The width is fixed by the first upsert and
 * kept in `dense_settings`. Ids compare byte-wise (COLLATE "C") so ties go to the lower id as in JavaScript.
 */
const ddl = (schema: string): string => `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.dense_documents (
  id text COLLATE "C" PRIMARY KEY,
  text text NOT NULL,
  metadata jsonb,
  vector real[] NOT NULL,
  code bit varying NOT NULL
);
CREATE TABLE IF NOT EXISTS ${schema}.dense_settings (
  key text PRIMARY KEY,
  value integer NOT NULL
);
`;

/** A sign code as a PostgreSQL bit string: bit i of the vector is character i (32 per word, as `binaryCode`). */
function bitString(code: Uint32Array): string {
  let bits = '';
  for (const word of code) for (let i = 0; i < 32; i++) bits += (word >>> i) & 1 ? '1' : '0';
  return bits;
}

/** A PostgreSQL array literal of the float32 values (each printed exactly, so `real` reads back the same). */
function arrayLiteral(vector: Float32Array): string {
  return `{${Array.from(vector, value => (Number.isNaN(value) ? 'NaN' : String(value))).join(',')}}`;
}

/**
 * A `DenseStore` on PostgreSQL (node-postgres) without extensions: exact cosine (the dot product of
 * normalised vectors, summed in double precision by the server) and Hamming search over sign codes, both
 * as one SQL query that returns only the top `k`; every upsert or delete is one transaction; any number of
 * processes share the index. Search is a scan: fine to ~10^5 documents per query on one core; for more,
 * an approximate index (pgvector's HNSW) is the next step. Node only.
 *
 * @example
 * const store = await postgresDenseStore({ connectionString: process.env.DATABASE_URL, schema: 'wiki' });
 * const index = denseIndex({ store, embedder: causalLmEmbedder({ model, tokenizer: model.tokenizer }) });
 * await index.add([{ id: 'a', text: 'Tom had a red ball.' }]);
 * console.log(await index.search('red ball', 5, { scoring: 'hamming-rerank' }));
 * await store.close();
 */
export async function postgresDenseStore(options: PostgresDenseStoreOptions): Promise<DenseStore> {
  const db = await openPostgres(options, ddl);
  const { schema } = db;
  /** The stored width, or undefined before the first upsert. */
  const dimensions = async (): Promise<number | undefined> => {
    const [row] = await db.query<{ value: number }>(
      'reading the width',
      `SELECT value FROM ${schema}.dense_settings WHERE key = 'dimensions'`,
    );
    return row?.value;
  };
  const scored = (rows: { id: string; score: number }[]): ScoredId[] =>
    rows.map(row => ({ id: row.id, score: row.score }));
  return {
    async upsert(batch: readonly EmbeddedDocument[]) {
      const documents = lastOfEachId(batch);
      if (documents.length === 0) return;
      const metadata = documents.map(checkStorable);
      const width = documents[0].vector.length;
      for (const { id, vector } of documents) {
        if (!(vector instanceof Float32Array) || vector.length !== width || width === 0) {
          throw new InvalidArgumentError({
            argument: 'documents',
            message: `document "${id}" has ${vector?.length} dimensions, the batch ${width}; every vector needs the same non-zero width`,
          });
        }
      }
      await db.transaction('upserting documents', async client => {
        // The first writer fixes the width; a concurrent one waits on the key and then reads it.
        await client.query(
          `INSERT INTO ${schema}.dense_settings (key, value) VALUES ('dimensions', $1) ON CONFLICT (key) DO NOTHING`,
          [width],
        );
        const { rows } = await client.query<{ value: number }>(
          `SELECT value FROM ${schema}.dense_settings WHERE key = 'dimensions'`,
        );
        if (rows[0].value !== width) {
          throw new InvalidArgumentError({
            argument: 'documents',
            message: `document "${documents[0].id}" has ${width} dimensions, the store ${rows[0].value}`,
          });
        }
        await client.query(
          `INSERT INTO ${schema}.dense_documents (id, text, metadata, vector, code)
           SELECT id, text, metadata::jsonb, vector::real[], code::bit varying
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, text, metadata, vector, code)
           ON CONFLICT (id) DO UPDATE
           SET text = excluded.text, metadata = excluded.metadata, vector = excluded.vector, code = excluded.code`,
          [
            documents.map(document => document.id),
            documents.map(document => document.text),
            metadata,
            documents.map(document => arrayLiteral(document.vector)),
            documents.map(document => bitString(binaryCode(document.vector))),
          ],
        );
      });
    },
    async delete(ids) {
      if (ids.length === 0) return;
      await db.query(
        'deleting documents',
        `DELETE FROM ${schema}.dense_documents WHERE id = ANY($1::text[])`,
        [[...ids]],
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
        `SELECT id, text, metadata FROM ${schema}.dense_documents WHERE id = ANY($1::text[])`,
        [[...ids]],
      );
      return inRequestedOrder(ids, rows);
    },
    async count() {
      const [row] = await db.query<{ n: number }>(
        'counting documents',
        `SELECT count(*)::integer AS n FROM ${schema}.dense_documents`,
      );
      return row.n;
    },
    async searchCosine(query, k, { among } = {}) {
      checkK(k, 0);
      const width = await dimensions();
      if (width === undefined) return [];
      if (query.length !== width) {
        throw new InvalidArgumentError({
          argument: 'vector',
          message: `dimension mismatch: ${query.length} vs ${width}`,
        });
      }
      if (k === 0 || (among !== undefined && among.length === 0)) return [];
      const rows = await db.query<{ id: string; score: number }>(
        'searching (cosine)',
        `SELECT d.id, (SELECT sum(v::double precision * q::double precision) FROM unnest(d.vector, $1::real[]) AS u(v, q)) AS score
         FROM ${schema}.dense_documents d
         ${among === undefined ? '' : 'WHERE d.id = ANY($3::text[])'}
         ORDER BY score DESC, d.id
         LIMIT $2`,
        among === undefined ? [arrayLiteral(query), k] : [arrayLiteral(query), k, [...among]],
      );
      return scored(rows);
    },
    async searchHamming(code, k) {
      checkK(k, 0);
      const width = await dimensions();
      if (width === undefined) return [];
      if (code.length !== Math.ceil(width / 32)) {
        throw new InvalidArgumentError({
          argument: 'code',
          message: `code length mismatch: ${code.length} vs ${Math.ceil(width / 32)} words`,
        });
      }
      if (k === 0) return [];
      const rows = await db.query<{ id: string; distance: number }>(
        'searching (Hamming)',
        `SELECT id, bit_count(code # $1::bit varying)::integer AS distance
         FROM ${schema}.dense_documents
         ORDER BY distance, id
         LIMIT $2`,
        [bitString(code), k],
      );
      return rows.map(row => ({ id: row.id, score: -row.distance }));
    },
    close: () => db.close(),
  };
}
