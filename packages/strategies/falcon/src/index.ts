export { falcon } from './falcon.js';
export type { FalconOptions } from './falcon.js';
export {
  checkFalconWeights,
  FALCON_TENSORS,
  falconShapes,
  parseFalconWeights,
  randomFalconWeights,
  serializeFalconWeights,
} from './falcon-weights.js';
export type { FalconTensor, FalconWeights } from './falcon-weights.js';
export { falconDescriptor } from './descriptor.js';
