export { fspad } from './fspad.js';
export type { FspadOptions } from './fspad.js';
export {
  checkFspadWeights,
  FSPAD_TENSORS,
  fspadShapes,
  parseFspadWeights,
  randomFspadWeights,
  serializeFspadWeights,
} from './fspad-weights.js';
export type { FspadTensor, FspadWeights } from './fspad-weights.js';
export { fspadDescriptor } from './descriptor.js';
