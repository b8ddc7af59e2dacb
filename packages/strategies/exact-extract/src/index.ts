export { exactExtract } from './exact-extract.js';
export type { ExactExtractOptions } from './exact-extract.js';
export { scoreSpans } from './score-spans.js';
export type { ScoredSpan, ScoreSpansOptions } from './score-spans.js';
