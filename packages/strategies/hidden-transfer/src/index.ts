export { hiddenTransfer } from './hidden-transfer.js';
export type { HiddenTransferOptions } from './hidden-transfer.js';
export {
  checkHiddenTransferTree,
  checkHiddenTransferWeights,
  parseHiddenTransferWeights,
  randomHiddenTransferWeights,
  serializeHiddenTransferWeights,
} from './hidden-transfer-weights.js';
export type { HiddenTransferWeights } from './hidden-transfer-weights.js';
export { hiddenTransferDescriptor } from './descriptor.js';
