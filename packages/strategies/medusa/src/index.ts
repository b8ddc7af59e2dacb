export { medusa } from './medusa.js';
export type { MedusaOptions } from './medusa.js';
export {
  checkMedusaWeights,
  checkTree,
  parseMedusaWeights,
  randomMedusaWeights,
  serializeMedusaWeights,
} from './medusa-weights.js';
export type { MedusaHead, MedusaWeights } from './medusa-weights.js';
export { buildSparseTree } from './sparse-tree.js';
export { medusaDescriptor } from './descriptor.js';
