import { InvalidArgumentError } from '@decodekit/core';
import { binaryCode, hammingDistance } from './binary-code.js';
import type { DenseStore, EmbeddedDocument, ScoredId, StoredDocument } from './dense-store.js';
import { dot } from './pool-hidden.js';

interface Entry {
  readonly document: StoredDocument;
  readonly vector: Float32Array;
  readonly code: Uint32Array;
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 0)
    throw new InvalidArgumentError({ argument: 'k', message: `must be an integer >= 0, got ${k}` });
}

function topK(scored: ScoredId[], k: number): ScoredId[] {
  return scored
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, k);
}

/**
 * An in-memory `DenseStore` (browser-safe): brute-force cosine over Float32 vectors and brute-force Hamming
 * over packed sign codes (`dimensions / 32` XOR + popcount per document, 32× less memory traffic than
 * cosine). The width is fixed by the first document.
 */
export function memoryDenseStore(): DenseStore {
  const entries = new Map<string, Entry>();
  let dimensions: number | undefined;
  let closed = false;
  const open = (): void => {
    if (closed)
      throw new InvalidArgumentError({ argument: 'store', message: 'the store is closed' });
  };
  return {
    async upsert(documents: readonly EmbeddedDocument[]) {
      open();
      for (const { vector, ...document } of documents) {
        dimensions ??= vector.length;
        if (vector.length !== dimensions) {
          throw new InvalidArgumentError({
            argument: 'documents',
            message: `document "${document.id}" has ${vector.length} dimensions, the store ${dimensions}`,
          });
        }
        entries.set(document.id, {
          document,
          vector: Float32Array.from(vector),
          code: binaryCode(vector),
        });
      }
    },
    async delete(ids) {
      open();
      for (const id of ids) entries.delete(id);
    },
    async get(ids) {
      open();
      return ids.flatMap(id => {
        const entry = entries.get(id);
        return entry ? [entry.document] : [];
      });
    },
    async count() {
      open();
      return entries.size;
    },
    async searchCosine(query, k, { among } = {}) {
      open();
      checkK(k);
      const pool = among ? among.flatMap(id => entries.get(id) ?? []) : [...entries.values()];
      return topK(
        pool.map(entry => ({ id: entry.document.id, score: dot(query, entry.vector) })),
        k,
      );
    },
    async searchHamming(code, k) {
      open();
      checkK(k);
      return topK(
        [...entries.values()].map(entry => ({
          id: entry.document.id,
          score: -hammingDistance(code, entry.code),
        })),
        k,
      );
    },
    async close() {
      closed = true;
      entries.clear();
    },
  };
}
