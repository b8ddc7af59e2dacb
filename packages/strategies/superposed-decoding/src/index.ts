export {
  embeddingsModelOf,
  superposedDecoding,
  superposedStrategy,
} from './superposed-decoding.js';
export type {
  EmbeddingsModel,
  EmbeddingsSequence,
  SuperposedDecoding,
  SuperposedDecodingOptions,
  SuperposedDraft,
  SuperposedGenerateArgs,
  SuperposedResult,
  SuperposedStrategyOptions,
} from './superposed-decoding.js';
export { ngramModel } from './ngram-model.js';
export type { NgramModel } from './ngram-model.js';
export { superposedDecodingDescriptor } from './descriptor.js';
export { selfGeneratedCorpus } from './self-generated-corpus.js';
