export { eagle } from './eagle.js';
export type { EagleOptions } from './eagle.js';
export {
  checkEagleWeights,
  parseEagleWeights,
  randomEagleWeights,
  serializeEagleWeights,
} from './eagle-weights.js';
export type { EagleLinear, EagleWeights } from './eagle-weights.js';
export { eagleDescriptor } from './descriptor.js';
