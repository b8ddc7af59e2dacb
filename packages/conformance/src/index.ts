export {
  distributionCheck,
  greedyCheck,
  O_DIST_SETTING,
  runStrategyConformance,
  underLoad,
} from './strategy-conformance.js';
export type {
  DistributionCheckResult,
  GreedyCheckResult,
  StrategyCheck,
  StrategyConformanceOptions,
} from './strategy-conformance.js';
export { runFeatureDrafterChecks } from './feature-drafter-checks.js';
export type { FeatureDrafterChecksOptions } from './feature-drafter-checks.js';
export { runTrainedDrafterConformance } from './trained-drafter-conformance.js';
export type { TrainedDrafterConformanceOptions } from './trained-drafter-conformance.js';
export { toyModel } from './toy-model.js';
export type { ToyModelOptions } from './toy-model.js';
export { exactJoint } from './exact-joint.js';
export { chiSquareTest, totalVariation, regularizedLowerGamma } from './chi-square.js';
export type { ChiSquareResult } from './chi-square.js';
export {
  loadReferenceModel,
  readPromptFile,
  referencePrompts,
  REFERENCE_MODEL,
} from './reference-model.js';
export type { ReferencePrompt } from './reference-model.js';
export { runBackendConformance } from './backend-conformance.js';
export type { BackendConformanceOptions } from './backend-conformance.js';
export { chaoticModel, cyclicModel, markovModel, mix, unit } from './fixture-models.js';
export { runSeq2SeqConformance } from './seq2seq-conformance.js';
export type { Seq2SeqCheck, Seq2SeqConformanceOptions } from './seq2seq-conformance.js';
