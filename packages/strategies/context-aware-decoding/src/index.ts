export { contextAwareDecoding, contextAwareDecodingMiddleware } from './context-aware-decoding.js';
export type {
  ContextAwareDecodingMiddlewareOptions,
  ContextAwareDecodingOptions,
} from './context-aware-decoding.js';
export { contextSpan } from './context-span.js';
export type { ContextSpan } from './context-span.js';
