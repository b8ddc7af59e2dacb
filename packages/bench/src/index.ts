/**
 * @decodekit/bench — benchmarks decoding strategies against autoregressive decoding (speedup, τ, identity
 * at T = 0, memory), measures a backend's cost of verifying k tokens, compares with transformers.js, and
 * writes JSON, markdown and SVG reports. Node only.
 */
export { AR, runBench, summarize } from './run-bench.js';
export type {
  BenchMeta,
  BenchProgress,
  BenchPrompt,
  BenchResult,
  BenchRun,
  BenchStrategy,
  BenchSummary,
  RunBenchOptions,
  ThreadsChoice,
} from './run-bench.js';
export { measureCostCurve, relativeCost, speedupCeiling } from './cost-curve.js';
export type { CostCurveOptions, CostPoint } from './cost-curve.js';
export { loadRandomLlama, measureRandomLlamaCostCurve, modelFilesFrom } from './random-model.js';
export type { RandomBenchModelOptions } from './random-model.js';
export { transformersJsBaseline } from './transformers-baseline.js';
export type {
  TransformersJsBaselineOptions,
  TransformersJsBaselineResult,
} from './transformers-baseline.js';
export { renderMarkdown, renderSvg, writeReports } from './write-reports.js';
export type { WrittenReports } from './write-reports.js';
export { parsePromptSet, readPromptSet } from './prompt-set.js';
export { mean, median, pairedBootstrap } from './statistics.js';
export type { PairedBootstrapOptions, PairedDifference } from './statistics.js';
export { measureArgs, measureStrategies } from './measure-strategies.js';
export type { MeasureArgs, MeasureStrategiesOptions } from './measure-strategies.js';
