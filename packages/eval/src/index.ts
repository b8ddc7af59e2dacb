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
