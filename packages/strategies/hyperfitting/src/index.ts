export {
  entropyOfLogits,
  memorizationFloor,
  repetitionOfNgrams,
  trainingNgramBlocker,
  typeTokenRatio,
} from './hyperfitting.js';
export type { TrainingNgramBlockerOptions } from './hyperfitting.js';
export { hyperfittingDescriptor } from './descriptor.js';
