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
