import type { SparseVector } from './sparse-vector.js';

/** Whether a text is encoded as a query or as a document (asymmetric encoders may differ). */
export type EncodeKind = 'query' | 'document';

/** Turns text into a sparse vector over a vocabulary. SPLADE encoders and lexical analyzers both fit. */
export interface SparseEncoder {
  /** Shown in stats and errors. */
  readonly name: string;
  /** Size of the term space (the model vocabulary for SPLADE). */
  readonly vocabSize: number;
  /** Encodes one text. */
  encode(
    text: string,
    options?: { kind?: EncodeKind; signal?: AbortSignal },
  ): Promise<SparseVector>;
}
