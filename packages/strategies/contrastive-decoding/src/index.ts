export { contrastiveDecoding, contrastiveDecodingMiddleware } from './contrastive-decoding.js';
export type {
  ContrastiveDecodingMiddlewareOptions,
  ContrastiveDecodingOptions,
} from './contrastive-decoding.js';
export { contrastiveDecodingDescriptor } from './descriptor.js';
