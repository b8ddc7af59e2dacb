export { asap } from './asap.js';
export type { AsapOptions, AsapStrategy } from './asap.js';
