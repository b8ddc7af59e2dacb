import {
  createDecoder,
  type DecodeStats,
  type FinishReason,
  type GenerateOptions,
  type LoadedModel,
  type LogitsProcessor,
} from '@decodekit/core';
import { logprobRecorder, type TokenLogprob } from './logprob-recorder.js';
import type { StrategySetup } from './strategies.js';

/** Everything one generation needs, resolved and validated before it takes a decoding slot. */
export interface ChoiceJob {
  model: LoadedModel;
  promptTokens: readonly number[];
  /** Sampling options (maxTokens included; no signal, no seed: those are per choice). */
  options: GenerateOptions;
  setup: StrategySetup;
  /** The output constraint (JSON schema or tools), built with the same maxTokens. */
  constraint?: LogitsProcessor<unknown>;
  /** When set, record log-probabilities with this many alternatives (0 = only the chosen token's). */
  topLogprobs?: number;
}

/** What a generation yields: text deltas (with log-probabilities when asked), then one `done`. */
export type ChoiceEvent =
  | { type: 'token'; text: string; logprob?: TokenLogprob }
  | { type: 'done'; text: string; reason: FinishReason; tokens: number; stats: DecodeStats };

/**
 * Runs one generation (one of a request's `n` choices) with a fresh decoder: the logprob recorder first
 * (it reads the model's raw distribution), the strategy's processors, then the constraint last so the
 * sampler only ever sees allowed tokens.
 */
export async function* runChoice(
  job: ChoiceJob,
  seed: number,
  signal: AbortSignal,
): AsyncGenerator<ChoiceEvent> {
  const recorder =
    job.topLogprobs !== undefined
      ? logprobRecorder(job.model.tokenizer, job.topLogprobs)
      : undefined;
  const processors: LogitsProcessor<unknown>[] = [];
  if (recorder) processors.push(recorder.processor);
  processors.push(...(job.setup.processors ?? []));
  if (job.constraint) processors.push(job.constraint);
  const decoder = createDecoder({
    model: job.setup.model ?? job.model,
    tokenizer: job.model.tokenizer,
    processors,
    strategy: job.setup.strategy,
  });
  for await (const event of decoder.stream(
    { tokens: job.promptTokens },
    { ...job.options, seed, signal },
  )) {
    if (event.type === 'token')
      yield { type: 'token', text: event.text, logprob: recorder?.take(event.tokenId) };
    else if (event.type === 'done') {
      yield {
        type: 'done',
        text: event.text,
        reason: event.reason,
        tokens: event.tokens.length,
        stats: event.stats,
      };
    }
  }
}
