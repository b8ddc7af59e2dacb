export { diverseBeamSearch } from './diverse-beam-search.js';
export type { DiverseBeamSearchOptions } from './diverse-beam-search.js';
export { diverseBeamSearchDescriptor } from './descriptor.js';
