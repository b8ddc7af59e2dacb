export { pearl } from './pearl.js';
export type { PearlOptions, PearlStats, PearlStrategy } from './pearl.js';
export { pearlDescriptor } from './descriptor.js';
