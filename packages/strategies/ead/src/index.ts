export { entropyAdaptiveDecoding, entropyBits } from './entropy-adaptive-decoding.js';
export type { EadOptions, EadStats, EadStrategy } from './entropy-adaptive-decoding.js';
