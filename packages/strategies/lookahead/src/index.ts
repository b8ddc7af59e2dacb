import { lookahead as lookaheadNgramDrafter } from './lookahead.js';

/** Lookahead decoding's Jacobi-window n-gram drafter (the package exports a strategy too, so: `Drafter`). */
export const lookaheadDrafter: typeof lookaheadNgramDrafter = lookaheadNgramDrafter;
/**
 * @deprecated Renamed `lookaheadDrafter` (docs/architecture.md, "Factory names"). In the next minor
 * `lookahead` becomes the strategy (today's `lookaheadDecoding`, which then stays one minor as its alias).
 */
export const lookahead: typeof lookaheadNgramDrafter = lookaheadNgramDrafter;
export type { LookaheadDrafter, LookaheadOptions, LookaheadStats } from './lookahead.js';
export { lookaheadDecoding } from './lookahead-decoding.js';
export type { LookaheadDecodingOptions } from './lookahead-decoding.js';
export { NgramPool } from './ngram-pool.js';
export { lookaheadDescriptor } from './descriptor.js';
