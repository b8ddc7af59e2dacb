import { InvalidArgumentError } from '@decodekit/core';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import type { SearchIndex } from './bm25-index.js';

/** Constructor fields of {@link DecodekitRetriever}. */
export interface DecodekitRetrieverInput extends BaseRetrieverInput {
  /** What to search: `bm25Index(...)`, decodekit's SPLADE store, or anything with `search(query, k)`. */
  index: SearchIndex;
  /** Documents per query. Default 4. */
  k?: number;
}

/**
 * A LangChain retriever over a decodekit {@link SearchIndex}. Each hit becomes a `Document` whose
 * `pageContent` is the hit's text, `id` its id, and `metadata` the hit's metadata plus `id` and `score`.
 *
 * @example
 * const retriever = new DecodekitRetriever({ index: bm25Index(docs), k: 2 });
 * const documents = await retriever.invoke('Who has a red ball?');
 */
export class DecodekitRetriever extends BaseRetriever {
  static lc_name(): string {
    return 'DecodekitRetriever';
  }

  lc_namespace = ['decodekit', 'retrievers'];

  index: SearchIndex;

  k: number;

  constructor(fields: DecodekitRetrieverInput) {
    super(fields);
    if (!fields?.index || typeof fields.index.search !== 'function') {
      throw new InvalidArgumentError({
        argument: 'index',
        message: 'needs an object with search(query, k), e.g. bm25Index(documents).',
      });
    }
    const k = fields.k ?? 4;
    if (!Number.isInteger(k) || k < 1)
      throw new InvalidArgumentError({
        argument: 'k',
        message: `must be a positive integer, got ${k}.`,
      });
    this.index = fields.index;
    this.k = k;
  }

  override async _getRelevantDocuments(query: string): Promise<DocumentInterface[]> {
    const hits = await this.index.search(query, this.k);
    return hits.map(
      hit =>
        new Document({
          id: hit.id,
          pageContent: hit.text,
          metadata: { ...hit.metadata, id: hit.id, score: hit.score },
        }),
    );
  }
}
