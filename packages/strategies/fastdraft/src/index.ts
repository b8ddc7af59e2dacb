export { FASTDRAFT_STORIES260K, fastdraftDescriptor } from './descriptor.js';
export { fastDraftMetrics, recordDraftRun } from './metrics.js';
export type { DraftRunLog, DraftStepRecord, FastDraftMetrics } from './metrics.js';
