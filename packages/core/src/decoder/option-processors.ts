import {
  frequencyPenalty,
  minP,
  noRepeatNgram,
  presencePenalty,
  repetitionPenalty,
  temperature,
  topK,
  topP,
  typical,
} from '../processors/index.js';
import type { LogitsProcessor } from '../types.js';
import type { ResolvedOptions } from './generate-options.js';

/**
 * Processors implied by per-call options, in the order Hugging Face applies them: penalties and bans
 * first, then (only when sampling) temperature and the truncation warpers. At temperature 0 the warpers
 * are skipped: none of them can change the argmax.
 */
export function buildOptionProcessors({
  options,
  temperature: t,
}: ResolvedOptions): LogitsProcessor<unknown>[] {
  const processors: LogitsProcessor<unknown>[] = [];
  if (options.repetitionPenalty !== undefined && options.repetitionPenalty !== 1) {
    processors.push(repetitionPenalty(options.repetitionPenalty));
  }
  if (options.presencePenalty) processors.push(presencePenalty(options.presencePenalty));
  if (options.frequencyPenalty) processors.push(frequencyPenalty(options.frequencyPenalty));
  if (options.noRepeatNgramSize !== undefined)
    processors.push(noRepeatNgram(options.noRepeatNgramSize));
  if (t > 0) {
    if (t !== 1) processors.push(temperature(t));
    if (options.topK) processors.push(topK(options.topK));
    if (options.topP !== undefined && options.topP < 1) processors.push(topP(options.topP));
    if (options.minP) processors.push(minP(options.minP));
    if (options.typicalP !== undefined && options.typicalP < 1)
      processors.push(typical(options.typicalP));
  }
  return processors;
}
