/**
 * @decodekit/retrieval-cfic — chunking-free in-context retrieval: encode a document once into the KV cache,
 * decode evidence as verbatim document sentences with constrained sentence-prefix decoding and skip decoding.
 */
export type { Sentence } from './split-sentences.js';
export { splitSentences } from './split-sentences.js';
export type {
  Cfic,
  CficDocument,
  CficOptions,
  EvidenceSpan,
  RetrieveOptions,
  RetrieveResult,
} from './cfic.js';
export { cfic } from './cfic.js';
