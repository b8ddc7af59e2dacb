export { lud } from './lud.js';
export type { LudOptions, LudStrategy } from './lud.js';
export { ludDescriptor } from './descriptor.js';
