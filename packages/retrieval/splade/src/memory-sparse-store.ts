import { InvalidArgumentError, bm25Idf, bm25TermWeight } from '@decodekit/core';
import { topScores } from './scoring.js';
import type { IndexedDocument, SparseStore, StoredDocument } from './sparse-store.js';

interface FieldIndex {
  /** term → (document id → weight) */
  readonly postings: Map<number, Map<string, number>>;
  /** document id → sum of weights (the document length for term-count fields) */
  readonly lengths: Map<string, number>;
  totalLength: number;
}

/** Validates `k` for every store. */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidArgumentError({
      argument: 'k',
      message: `k must be a positive integer, got ${k}`,
    });
}

/**
 * An in-memory inverted index (browser-safe, nothing persisted). Use `sqliteSparseStore` from
 * `@decodekit/retrieval-splade/sqlite` to keep an index on disk.
 */
export function memorySparseStore(): SparseStore {
  const documents = new Map<string, IndexedDocument>();
  const fields = new Map<string, FieldIndex>();
  const fieldOf = (name: string): FieldIndex => {
    let field = fields.get(name);
    if (!field)
      fields.set(name, (field = { postings: new Map(), lengths: new Map(), totalLength: 0 }));
    return field;
  };
  const remove = (id: string): void => {
    const existing = documents.get(id);
    if (!existing) return;
    for (const [name, vector] of Object.entries(existing.vectors)) {
      const field = fieldOf(name);
      vector.terms.forEach(term => field.postings.get(term)?.delete(id));
      field.totalLength -= field.lengths.get(id) ?? 0;
      field.lengths.delete(id);
    }
    documents.delete(id);
  };
  return {
    async upsert(batch) {
      for (const document of batch) {
        remove(document.id);
        documents.set(document.id, document);
        for (const [name, vector] of Object.entries(document.vectors)) {
          const field = fieldOf(name);
          let length = 0;
          vector.terms.forEach((term, i) => {
            let list = field.postings.get(term);
            if (!list) field.postings.set(term, (list = new Map()));
            list.set(document.id, vector.weights[i]);
            length += vector.weights[i];
          });
          field.lengths.set(document.id, length);
          field.totalLength += length;
        }
      }
    },
    async delete(ids) {
      ids.forEach(remove);
    },
    async get(ids) {
      const found: StoredDocument[] = [];
      for (const id of ids) {
        const document = documents.get(id);
        if (document)
          found.push({ id: document.id, text: document.text, metadata: document.metadata });
      }
      return found;
    },
    async count() {
      return documents.size;
    },
    async searchDot(name, query, k) {
      checkK(k);
      const field = fieldOf(name);
      const scores = new Map<string, number>();
      query.terms.forEach((term, i) => {
        for (const [id, weight] of field.postings.get(term) ?? [])
          scores.set(id, (scores.get(id) ?? 0) + weight * query.weights[i]);
      });
      return topScores(scores, k);
    },
    async searchBm25(name, query, k, parameters) {
      checkK(k);
      const field = fieldOf(name);
      const documentCount = field.lengths.size;
      const averageLength = documentCount ? field.totalLength / documentCount : 0;
      const scores = new Map<string, number>();
      query.terms.forEach((term, i) => {
        const list = field.postings.get(term);
        if (!list || list.size === 0) return;
        const idf = bm25Idf(documentCount, list.size);
        for (const [id, frequency] of list) {
          const weight = bm25TermWeight(
            idf,
            frequency,
            field.lengths.get(id) ?? 0,
            averageLength,
            parameters,
          );
          scores.set(id, (scores.get(id) ?? 0) + weight * query.weights[i]);
        }
      });
      return topScores(scores, k);
    },
    async close() {
      documents.clear();
      fields.clear();
    },
  };
}
