export { applyRope, chimera } from './chimera.js';
export type { ChimeraOptions } from './chimera.js';
export {
  checkChimeraWeights,
  chimeraShapes,
  headFromLmHead,
  parseChimeraWeights,
  randomChimeraWeights,
  serializeChimeraWeights,
} from './chimera-weights.js';
export type { ChimeraWeights } from './chimera-weights.js';
export { chimeraDescriptor } from './descriptor.js';
