export { rsd, rsdDrafter } from './rsd.js';
export type { RsdDrafter, RsdOptions } from './rsd.js';
export { conditionedGumbel, gumbel, gumbelTopK, log1mexp } from './gumbel.js';
export { rsdDescriptor } from './descriptor.js';
