export { maxProbability, nestedSubModel, s2d } from './s2d.js';
export type { S2dFamily, S2dOptions, S2dTargetStats } from './s2d.js';
export { s2dDescriptor } from './descriptor.js';
