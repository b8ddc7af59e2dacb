export { lookahead } from './lookahead.js';
export type { LookaheadDrafter, LookaheadOptions, LookaheadStats } from './lookahead.js';
export { lookaheadDecoding } from './lookahead-decoding.js';
export type { LookaheadDecodingOptions } from './lookahead-decoding.js';
export { NgramPool } from './ngram-pool.js';
export { lookaheadDescriptor } from './descriptor.js';
