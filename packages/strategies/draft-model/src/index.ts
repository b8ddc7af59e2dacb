export { draftModel } from './draft-model.js';
export type { DraftModelDrafter, DraftModelOptions, DraftSchedule } from './draft-model.js';
export { DRAFT_MODEL_OPTIONS, draftModelDescriptor, draftModelFromOptions } from './descriptor.js';
