export { contextAwareDecoding } from './context-aware-decoding.js';
export type { ContextAwareDecodingOptions } from './context-aware-decoding.js';
export { contextSpan } from './context-span.js';
export type { ContextSpan } from './context-span.js';
