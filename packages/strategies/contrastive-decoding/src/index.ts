export { contrastiveDecoding } from './contrastive-decoding.js';
export type { ContrastiveDecodingOptions } from './contrastive-decoding.js';
export { contrastiveDecodingDescriptor } from './descriptor.js';
