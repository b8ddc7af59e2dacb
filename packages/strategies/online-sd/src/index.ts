import { onlineSpeculative as onlineSdStrategy } from './online-speculative.js';

export { onlineSdDrafter } from './online-speculative.js';
/**
 * Online Speculative Decoding as a strategy (the draft learns from the target's corrections while it serves).
 * Named by the factory rule in docs/architecture.md: the package's id, returning the Strategy.
 */
export const onlineSd: typeof onlineSdStrategy = onlineSdStrategy;
/** @deprecated Renamed `onlineSd` (docs/architecture.md, "Factory names"); this alias goes in the next minor. */
export const onlineSpeculative: typeof onlineSdStrategy = onlineSdStrategy;
export type { DraftTrainingSample, DraftUpdater, RejectedPosition } from '@decodekit/core';
export type {
  OnlineSdDrafter,
  OnlineSdRecord,
  OnlineSpeculativeOptions,
  OnlineSpeculativeStrategy,
} from './online-speculative.js';
export { onlineSdDescriptor } from './descriptor.js';
