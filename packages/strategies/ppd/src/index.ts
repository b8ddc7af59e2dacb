export { fusedPpdTree, ppd } from './ppd.js';
export type { PpdOptions } from './ppd.js';
export {
  checkPpdTree,
  checkPpdWeights,
  parsePpdWeights,
  promptTokenCount,
  randomPpdWeights,
  serializePpdWeights,
  virtualTokenCount,
} from './ppd-weights.js';
export type { PpdWeights } from './ppd-weights.js';
export { ppdDescriptor } from './descriptor.js';
