export { rankgen } from './rankgen.js';
export type {
  RankGen,
  RankGenCandidate,
  RankGenGenerateArgs,
  RankGenGenerateResult,
  RankGenHypothesis,
  RankGenOptions,
  RankGenScoreArgs,
  RankGenScorer,
  RankGenSearchStats,
} from './rankgen.js';
export { likelihoodScorer, modelScorer } from './likelihood-scorer.js';
export type {
  LikelihoodNormalization,
  LikelihoodScorerOptions,
  ModelScorerOptions,
} from './likelihood-scorer.js';
export { ContinuationLogLikelihood } from './continuation-log-likelihood.js';
export {
  project,
  rankerFeatures,
  rankerWeightsFromJSON,
  rankerWeightsToJSON,
  trainedRankerScorer,
} from './trained-ranker.js';
export type { RankerWeights, RankerWeightsJSON } from './trained-ranker.js';
