export { datasetKey, generateDataset, loadOrGenerateDataset } from './dataset.js';
export type { Dataset, DatasetOptions } from './dataset.js';
export { TRAIN_BACKENDS, useTrainBackend } from './tf-backend.js';
export type { TrainBackend } from './tf-backend.js';
export { batchIndices, checkLoopOptions, runLoop, seededUniform } from './training-loop.js';
export type { LoopOptions, LoopResult, TrainProgress } from './training-loop.js';
export { splitSequences, trainMedusa } from './train-medusa.js';
export type { TrainMedusaOptions } from './train-medusa.js';
export { trainEagle } from './train-eagle.js';
export type { TrainEagleOptions } from './train-eagle.js';
export { trainFspad } from './train-fspad.js';
export type { TrainFspadOptions } from './train-fspad.js';
export { fineTuneLlama, llamaPerplexity, tfLlama } from './llama-tf.js';
export type {
  FineTuneLlamaOptions,
  FineTuneLlamaResult,
  TfLlama,
  TfLlamaConfig,
  TfLlamaWeights,
} from './llama-tf.js';
export { nestedLlama, sortedFineTune } from './sorted-fine-tune.js';
export type { SortedFineTuneOptions } from './sorted-fine-tune.js';
