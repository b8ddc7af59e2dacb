export { onlineSdDrafter, onlineSpeculative } from './online-speculative.js';
export type {
  OnlineSdDrafter,
  OnlineSdRecord,
  OnlineSpeculativeOptions,
  OnlineSpeculativeStrategy,
} from './online-speculative.js';
export { onlineSdDescriptor } from './descriptor.js';
