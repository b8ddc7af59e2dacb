export { judgeDecoding, collectJudgeSamples } from './judge-decoding.js';
export type {
  CollectJudgeSamplesOptions,
  JudgeDecodingOptions,
  JudgeDecodingStats,
  JudgeDecodingStrategy,
} from './judge-decoding.js';
export { fitJudgeHead, linearJudgeHead, rocAuc } from './judge-head.js';
export type {
  FitJudgeHeadOptions,
  JudgeHead,
  JudgeSample,
  LinearJudgeHead,
  LinearJudgeHeadJSON,
} from './judge-head.js';
export { likelihoodLabeler } from './judge-decoding.js';
export type { JudgeLabeler, JudgeLabelInput } from './judge-decoding.js';
export { characterNames, foreignNames, groundedNamesLabeler } from './grounded-names.js';
export type { CharacterNamesOptions, ForeignName } from './grounded-names.js';
