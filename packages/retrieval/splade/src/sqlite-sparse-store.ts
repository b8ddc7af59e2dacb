import { invariant, UnsupportedCapabilityError } from '@decodekit/core';
import type BetterSqlite3 from 'better-sqlite3';
import { checkK } from './memory-sparse-store.js';
import { bm25Idf, bm25TermWeight } from '@decodekit/core';
import { topScores } from './scoring.js';
import type { IndexedDocument, SparseStore, StoredDocument } from './sparse-store.js';

/** Options of `sqliteSparseStore`. */
export interface SqliteSparseStoreOptions {
  /** Database file (created when missing), or `':memory:'`. */
  readonly path: string;
  /** Open an existing file without writing to it. Default false. */
  readonly readonly?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (doc INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, metadata TEXT);
CREATE TABLE IF NOT EXISTS postings (field TEXT NOT NULL, term INTEGER NOT NULL, doc INTEGER NOT NULL, weight REAL NOT NULL,
  PRIMARY KEY (field, term, doc)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lengths (field TEXT NOT NULL, doc INTEGER NOT NULL, length REAL NOT NULL,
  PRIMARY KEY (field, doc)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS postings_by_doc ON postings (doc);
`;

async function loadDriver(): Promise<typeof BetterSqlite3> {
  try {
    const module = await import('better-sqlite3');
    return (
      (module as unknown as { default: typeof BetterSqlite3 }).default ??
      (module as unknown as typeof BetterSqlite3)
    );
  } catch (cause) {
    throw new UnsupportedCapabilityError({
      capability: 'sqlite',
      backendId: 'better-sqlite3',
      hint:
        'The optional native dependency better-sqlite3 12.x is not built. Reinstall it with the Node headers at hand, ' +
        `e.g. \`npm_config_nodedir=/usr pnpm rebuild better-sqlite3\`, or use memorySparseStore(). (${String(cause)})`,
    });
  }
}

/**
 * A `SparseStore` persisted in one SQLite file through better-sqlite3: an inverted index table
 * `postings(field, term, doc, weight)` (clustered by field and term, so a query reads only its terms'
 * posting lists), per-field document lengths for BM25, and the documents themselves. Every upsert or delete
 * is one transaction. Node only.
 */
export async function sqliteSparseStore({
  path,
  readonly = false,
}: SqliteSparseStoreOptions): Promise<SparseStore> {
  const Database = await loadDriver();
  const db = new Database(path, { readonly });
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
  }
  const docOf = db.prepare<[string], { doc: number }>('SELECT doc FROM documents WHERE id = ?');
  const insertDocument = readonly
    ? undefined
    : db.prepare('INSERT INTO documents (id, text, metadata) VALUES (?, ?, ?)');
  const insertPosting = readonly
    ? undefined
    : db.prepare('INSERT INTO postings (field, term, doc, weight) VALUES (?, ?, ?, ?)');
  const insertLength = readonly
    ? undefined
    : db.prepare('INSERT INTO lengths (field, doc, length) VALUES (?, ?, ?)');
  const removeDoc = (id: string): void => {
    const row = docOf.get(id);
    if (!row) return;
    db.prepare('DELETE FROM postings WHERE doc = ?').run(row.doc);
    db.prepare('DELETE FROM lengths WHERE doc = ?').run(row.doc);
    db.prepare('DELETE FROM documents WHERE doc = ?').run(row.doc);
  };
  const upsertAll = db.transaction((batch: readonly IndexedDocument[]) => {
    for (const document of batch) {
      removeDoc(document.id);
      const metadata = document.metadata === undefined ? null : JSON.stringify(document.metadata);
      invariant(
        insertDocument && insertPosting && insertLength,
        'upserts run only on a writable store',
      );
      const doc = Number(insertDocument.run(document.id, document.text, metadata).lastInsertRowid);
      for (const [field, vector] of Object.entries(document.vectors)) {
        let length = 0;
        vector.terms.forEach((term, i) => {
          insertPosting.run(field, term, doc, vector.weights[i]);
          length += vector.weights[i];
        });
        insertLength.run(field, doc, length);
      }
    }
  });
  const deleteAll = db.transaction((ids: readonly string[]) => ids.forEach(removeDoc));
  /** Posting lists of `terms` in `field`, as (term, external id, weight) rows. */
  const postingsOf = (
    field: string,
    terms: Int32Array,
  ): { term: number; id: string; weight: number }[] => {
    if (terms.length === 0) return [];
    const placeholders = Array.from(terms, () => '?').join(',');
    return db
      .prepare(
        `SELECT p.term AS term, d.id AS id, p.weight AS weight FROM postings p JOIN documents d ON d.doc = p.doc
         WHERE p.field = ? AND p.term IN (${placeholders})`,
      )
      .all(field, ...terms) as { term: number; id: string; weight: number }[];
  };
  const queryWeights = (terms: Int32Array, weights: Float32Array): Map<number, number> =>
    new Map(Array.from(terms, (term, i) => [term, weights[i]]));
  return {
    async upsert(batch) {
      upsertAll(batch);
    },
    async delete(ids) {
      deleteAll(ids);
    },
    async get(ids) {
      const select = db.prepare<[string], { id: string; text: string; metadata: string | null }>(
        'SELECT id, text, metadata FROM documents WHERE id = ?',
      );
      const found: StoredDocument[] = [];
      for (const id of ids) {
        const row = select.get(id);
        if (row)
          found.push(
            row.metadata === null
              ? { id: row.id, text: row.text }
              : { id: row.id, text: row.text, metadata: JSON.parse(row.metadata) },
          );
      }
      return found;
    },
    async count() {
      return (db.prepare('SELECT COUNT(*) AS n FROM documents').get() as { n: number }).n;
    },
    async searchDot(field, query, k) {
      checkK(k);
      const weights = queryWeights(query.terms, query.weights);
      const scores = new Map<string, number>();
      for (const { term, id, weight } of postingsOf(field, query.terms)) {
        scores.set(id, (scores.get(id) ?? 0) + weight * (weights.get(term) ?? 0));
      }
      return topScores(scores, k);
    },
    async searchBm25(field, query, k, parameters) {
      checkK(k);
      const stats = db
        .prepare(
          'SELECT COUNT(*) AS n, COALESCE(SUM(length), 0) AS total FROM lengths WHERE field = ?',
        )
        .get(field) as {
        n: number;
        total: number;
      };
      const averageLength = stats.n ? stats.total / stats.n : 0;
      const weights = queryWeights(query.terms, query.weights);
      const rows = postingsOf(field, query.terms);
      const frequency = new Map<number, number>();
      for (const { term } of rows) frequency.set(term, (frequency.get(term) ?? 0) + 1);
      const lengthOf = db.prepare<[string, string], { length: number }>(
        'SELECT l.length AS length FROM lengths l JOIN documents d ON d.doc = l.doc WHERE l.field = ? AND d.id = ?',
      );
      const lengths = new Map<string, number>();
      const scores = new Map<string, number>();
      for (const { term, id, weight } of rows) {
        let length = lengths.get(id);
        if (length === undefined) lengths.set(id, (length = lengthOf.get(field, id)?.length ?? 0));
        const idf = bm25Idf(stats.n, frequency.get(term) ?? 0);
        scores.set(
          id,
          (scores.get(id) ?? 0) +
            bm25TermWeight(idf, weight, length, averageLength, parameters) *
              (weights.get(term) ?? 0),
        );
      }
      return topScores(scores, k);
    },
    async close() {
      db.close();
    },
  };
}
