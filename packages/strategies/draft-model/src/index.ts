export { draftModel } from './draft-model.js';
export type { DraftModelDrafter, DraftModelOptions, DraftSchedule } from './draft-model.js';
export { draftModelDescriptor } from './descriptor.js';
