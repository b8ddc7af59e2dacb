import type { DecodekitDecodeOptions } from './decode-options.js';
import type { DecodekitModelInput } from './resolve-model.js';

/** Settings of ChatDecodekit and DecodekitLLM that are plain data and serialize. */
export const SERIALIZABLE_KEYS: readonly string[] = [
  'model',
  'stop',
  'timeout',
  'temperature',
  'maxTokens',
  'topK',
  'topP',
  'minP',
  'typicalP',
  'repetitionPenalty',
  'presencePenalty',
  'frequencyPenalty',
  'noRepeatNgramSize',
  'seed',
  'maxRetries',
  'maxConcurrency',
];

/** The defined values of `keys` on `instance` (current values, not the constructor's). */
export function serializableAttributes(
  instance: object,
  keys: readonly string[],
): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const key of keys) {
    const value = (instance as Record<string, unknown>)[key];
    if (value !== undefined) attributes[key] = value;
  }
  return attributes;
}

/** True when every setting that changes the output is data: a model id (not a LoadedModel), no code. */
export function isSerializableModel(
  instance: DecodekitDecodeOptions & { model: DecodekitModelInput },
): boolean {
  return (
    typeof instance.model === 'string' &&
    instance.strategy === undefined &&
    instance.processors === undefined
  );
}
