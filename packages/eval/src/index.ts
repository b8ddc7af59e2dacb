export { evaluate, continuationNll, formatEvalTable, writeEvalReports } from './evaluate.js';
export type {
  EvalGeneration,
  EvalPrompt,
  EvalResult,
  EvalStrategy,
  EvalSummaryRow,
  EvaluateOptions,
} from './evaluate.js';
export { distinctN, ngramsOf, repetitionRate, selfBleu, sentenceBleu, wordsOf } from './metrics.js';
export {
  compareModels,
  formatCompareTable,
  normalizeAnswer,
  writeCompareReports,
} from './compare.js';
export type {
  CompareJudge,
  CompareJudgeInput,
  CompareModel,
  CompareOptions,
  CompareResult,
  CompareRow,
} from './compare.js';
export { buildKickQuestions } from './kick-questions.js';
export type { BuildKickQuestionsOptions, KickQuestion, KickStory } from './kick-questions.js';
