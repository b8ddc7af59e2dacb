export { datasetKey, generateDataset, loadOrGenerateDataset, mixDatasets } from './dataset.js';
export type { Dataset, DatasetOptions } from './dataset.js';
export { TRAIN_BACKENDS, useTrainBackend } from './tf-backend.js';
export type { TrainBackend } from './tf-backend.js';
export {
  batchIndices,
  checkLoopOptions,
  LEARNING_RATE_SCHEDULES,
  runLoop,
  scheduledLearningRate,
  seededUniform,
} from './training-loop.js';
export type {
  LearningRateSchedule,
  LoopOptions,
  LoopResult,
  TrainProgress,
} from './training-loop.js';
export { trainMedusa } from './train-medusa.js';
export { splitSequences } from './training-data.js';
export type { TrainMedusaOptions } from './train-medusa.js';
export { trainEagle } from './train-eagle.js';
export type { TrainEagleOptions } from './train-eagle.js';
export { trainFspad } from './train-fspad.js';
export type { TrainFspadOptions } from './train-fspad.js';
export { trainRanker } from './train-ranker.js';
export type { RankerExample, TrainRankerOptions } from './train-ranker.js';
export { trainFeatureDrafter, xavier } from './train-feature-drafter.js';
export type {
  FeatureDrafterGraph,
  FeatureDrafterTrainingOptions,
  FeatureDrafterTrainingResult,
  TrainedFeatureDrafter,
} from './train-feature-drafter.js';
export {
  chainScorer,
  checkTrainingInputs,
  heldOutRecord,
  hiddenAt,
  positions,
  tokensAt,
  trainingRecord,
} from './training-data.js';
export type { HeldOutChains } from './training-data.js';
export { trainChimera } from './train-chimera.js';
export type { TrainChimeraOptions } from './train-chimera.js';
export { trainFalcon } from './train-falcon.js';
export type { TrainFalconOptions } from './train-falcon.js';
export { checkPpdOptions, PPD_INITS, trainPpd } from './train-ppd.js';
export type { PpdInit, TrainPpdOptions } from './train-ppd.js';
export { FrozenLlama } from './frozen-llama.js';
export type { LlamaCache, LlamaShape, LlamaTensorsSource } from './frozen-llama.js';
export { distillLlama, fineTuneLlama, llamaPerplexity, tfLlama } from './llama-tf.js';
export { evaluateLud, lexicalUnits, ludLayout, prepareLud, trainLud } from './train-lud.js';
export type {
  LexicalUnit,
  LudLayout,
  LudPreparation,
  TrainLudOptions,
  TrainLudResult,
} from './train-lud.js';
export type {
  DistillLlamaOptions,
  ExitTrainingResult,
  ExitValidation,
  ExitValidationRecord,
  FineTuneLlamaOptions,
  FineTuneLlamaResult,
  TeacherSequence,
  TfLlama,
  TfLlamaConfig,
  TfLlamaLayout,
  TfLlamaWeights,
} from './llama-tf.js';
export { nestedLlama, sortedFineTune } from './sorted-fine-tune.js';
export {
  DISTILL_DIVERGENCES,
  DISTILL_POSITIONS,
  distillationLoss,
  onlineDistiller,
} from './online-distiller.js';
export type {
  DistillDivergence,
  DistillPositions,
  DistillUpdateRecord,
  OnlineDistiller,
  OnlineDistillerOptions,
} from './online-distiller.js';
export type { SortedFineTuneOptions } from './sorted-fine-tune.js';
export { checkHiddenTransferOptions, trainHiddenTransfer } from './train-hidden-transfer.js';
export type { TrainHiddenTransferOptions } from './train-hidden-transfer.js';
export {
  datasetSequences,
  draftAcceptance,
  fastDraftRecipe,
  initLlamaWeights,
  llamaParameterCount,
  trainFastDraft,
} from './train-fastdraft.js';
export type {
  DraftAcceptance,
  FastDraftPhase,
  FastDraftRecipeFlags,
  FastDraftShape,
  TrainFastDraftOptions,
  TrainFastDraftResult,
} from './train-fastdraft.js';
export {
  etokGenerateTf,
  etokGreedySpell,
  etokNextWordAccuracy,
  etokWindows,
  initialEtokWeights,
  tfEtok,
  trainEtok,
} from './train-etok.js';
export type { TfEtok, TrainEtokOptions } from './train-etok.js';
export { checkSpladeOptions, spladeVectors, trainSplade } from './train-splade.js';
export {
  findTorch,
  requireTorch,
  fineTuneLlamaTorch,
  llamaLogitsTorch,
  TORCH_SCRIPT,
  trainLudTorch,
  trainSpladeTorch,
} from './torch-runner.js';
export type {
  FineTuneLlamaTorchOptions,
  TorchRunOptions,
  TrainLudTorchOptions,
  TrainSpladeTorchOptions,
} from './torch-runner.js';
export type {
  SpladeInputOptions,
  SpladePair,
  TrainSpladeOptions,
  TrainSpladeResult,
} from './train-splade.js';
export {
  STORY_DOCUMENT_TOKENS,
  bm25HardNegatives,
  firstSentence,
  generateStoryRetrievalPairs,
  storyRetrievalPair,
} from './story-retrieval-pairs.js';
export type { RetrievalPair, StoryRetrievalPairsOptions } from './story-retrieval-pairs.js';
