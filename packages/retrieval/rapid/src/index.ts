/**
 * @decodekit/retrieval-rapid — RAPID: retrieval-augmented speculative decoding for long contexts. The draft
 * runs on a retrieval-shortened context, the target verifies over the full one with `speculative()`.
 */
export type { ChunkScorer } from './chunk-scorer.js';
export { bm25ChunkScorer } from './chunk-scorer.js';
export type { ShortenOptions, ShortenedContext } from './shorten-context.js';
export { shortenContext } from './shorten-context.js';
export type { RapidDrafter, RapidDrafterOptions } from './rapid-drafter.js';
export { rapidDrafter } from './rapid-drafter.js';
export type { RapidTransferOptions } from './rapid-transfer-verifier.js';
export { rapidTransferVerifier, retrievalAugmentedTarget } from './rapid-transfer-verifier.js';
