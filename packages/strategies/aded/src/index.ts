export { aded, cutToChoices, trieOf } from './aded.js';
export type { AdedDrafter, AdedOptions } from './aded.js';
export {
  AdedStore,
  bigramKey,
  buildAdedStore,
  buildAdedStoreFromTokens,
  deserializeAdedStore,
  serializeAdedStore,
} from './aded-store.js';
export type { BuildAdedStoreOptions, Successors } from './aded-store.js';
export { C1, C2, puct, runMcts } from './mcts.js';
export type { MctsOptions } from './mcts.js';
export { adedDescriptor } from './descriptor.js';
export { selfGeneratedAdedStore, selfGeneratedStories } from './self-generated-store.js';
export type { SelfGeneratedStoreOptions } from './self-generated-store.js';
