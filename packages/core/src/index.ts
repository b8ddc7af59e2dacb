export * from './errors.js';
export type * from './types.js';
export type * from './strategy.js';
export * from './processors/index.js';
export * from './sampling/index.js';
export * from './tokenizer/index.js';
export { createDecoder } from './decoder/create-decoder.js';
export type {
  Decoder,
  DecoderConfig,
  DecoderPlugin,
  GenerateResult,
  SearchHypothesis,
  SearchResult,
} from './decoder/create-decoder.js';
export type { GenerateOptions, Prompt, ResolvedOptions } from './decoder/generate-options.js';
export { resolveGenerateOptions } from './decoder/generate-options.js';
export { buildOptionProcessors } from './decoder/option-processors.js';
export { autoregressive } from './strategies/autoregressive.js';
export { speculative } from './speculative/speculative.js';
export type { SpeculativeOptions } from './speculative/speculative.js';
export { greedyMatch, rejectionSampling } from './speculative/verifiers.js';
export { verifyTree } from './speculative/verify-tree.js';
export type { VerifyTreeInput, VerifyTreeResult } from './speculative/verify-tree.js';
export { draftSeed } from './speculative/draft-seed.js';
export { chainTree, isChain, shapeDraftTree, treeDepths } from './speculative/draft-tree.js';
export { wrapModel } from './middleware/wrap-model.js';
export type { ModelMiddleware } from './middleware/wrap-model.js';
export { mockModel } from './testing/mock-model.js';
export { testBeginContext, testDraftContext } from './testing/draft-contexts.js';
export type { MockForwardCall, MockModel, MockModelOptions } from './testing/mock-model.js';
export {
  DraftSampler,
  DraftSession,
  RowDistributions,
  commonPrefixLength,
  draftDistribution,
  fitDepth,
  sampleDraftToken,
  sampledTree,
} from './speculative/draft-session.js';
export { checkDraftCompatibility } from './speculative/draft-compatibility.js';
export type {
  CompatibilityCheckedModel,
  DraftCompatibilityOptions,
  DraftCompatibilityReport,
} from './speculative/draft-compatibility.js';
export type {
  DraftChainOptions,
  DraftChainStep,
  DraftOptionsCheck,
  DraftSamplerBegin,
  DraftSessionOptions,
} from './speculative/draft-session.js';
export type {
  DraftTrainingSample,
  DraftUpdater,
  RejectedPosition,
  ScoredPosition,
} from './speculative/draft-updater.js';
export {
  createFromDescriptor,
  descriptorOptions,
  parseStrategyOptions,
  readOptionFile,
  secondModelOf,
  SPECULATIVE_OPTIONS,
} from './catalog/strategy-descriptor.js';
export type {
  ArtifactCache,
  BuiltSetup,
  OptionDescriptor,
  OptionValues,
  StrategyDescriptor,
  StrategyEnvironment,
  StrategySetup,
} from './catalog/strategy-descriptor.js';
export {
  HiddenFromLogits,
  decodeFloats,
  encodeFloats,
  matVec,
  siluInPlace,
  softmaxInPlace,
  topIndices,
} from './heads/linear-algebra.js';
export {
  bm25Idf,
  bm25Index,
  bm25Parameters,
  bm25Scores,
  bm25TermWeight,
} from './retrieval/bm25.js';
export type { Bm25Index, Bm25Parameters } from './retrieval/bm25.js';
export { analyzeText, termId, textTermIds } from './retrieval/text-analyzer.js';
export { checkPositiveInteger, featureDrafter } from './heads/feature-drafter.js';
export type {
  DynamicTreeOptions,
  FeatureDrafterNetwork,
  FeatureDrafterOptions,
  TrainedFeatureDrafterOptions,
} from './heads/feature-drafter.js';
export { hiddenStateTracker } from './heads/hidden-state-tracker.js';
export {
  DYNAMIC_TREE_OPTIONS,
  dynamicTreeOptions,
  trainedDrafterDescriptor,
} from './heads/trained-drafter-descriptor.js';
export type { TrainedDrafterDescriptorOptions } from './heads/trained-drafter-descriptor.js';
export type {
  HiddenStateTracker,
  HiddenStateTrackerOptions,
} from './heads/hidden-state-tracker.js';
export {
  checkPositiveSizes,
  checkTensorShapes,
  decodeTensor,
  randomTensors,
  readWeightsFile,
  requireWeights,
  serializeWeightsFile,
  tensorMapWeightsFormat,
} from './heads/weights-file.js';
export type {
  RandomWeightsOptions,
  TensorMapWeights,
  TensorMapWeightsFormat,
  TensorShape,
  TrainedHeadHeader,
  WeightsFileKind,
} from './heads/weights-file.js';
export { checkSparseTreePaths } from './heads/sparse-tree.js';
