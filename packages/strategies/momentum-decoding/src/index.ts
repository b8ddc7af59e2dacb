export { momentumDecoding, repetitionLength } from './momentum-decoding.js';
export type {
  MomentumDecodingOptions,
  MomentumState,
  ResistanceFunction,
} from './momentum-decoding.js';
export { momentumDecodingDescriptor } from './descriptor.js';
