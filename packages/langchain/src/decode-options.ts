import {
  InvalidArgumentError,
  resolveGenerateOptions,
  type GenerateOptions,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';

/**
 * Decoder settings shared by `ChatDecodekit` and `DecodekitLLM`. Every field can be set on the instance
 * (constructor) and overridden per call (call options); a call option replaces the instance value.
 */
export interface DecodekitDecodeOptions {
  /** 0 decodes greedily (the decoder's default); > 0 samples from the processed distribution. */
  temperature?: number;
  /** Most tokens to generate per call (EOS included). Default 256. */
  maxTokens?: number;
  /** Keep the k most likely tokens (sampling only). */
  topK?: number;
  /** Nucleus sampling threshold in (0, 1] (sampling only). */
  topP?: number;
  /** Drop tokens below minP × the top probability (sampling only). */
  minP?: number;
  /** Locally typical sampling mass in (0, 1] (sampling only). */
  typicalP?: number;
  /** Hugging Face repetition penalty (> 0; 1 = off) over prompt and output. */
  repetitionPenalty?: number;
  /** OpenAI presence penalty over generated tokens. */
  presencePenalty?: number;
  /** OpenAI frequency penalty over generated tokens. */
  frequencyPenalty?: number;
  /** Ban repeating any n-gram of this size. */
  noRepeatNgramSize?: number;
  /** Seed of the sampler's random source (same seed, same output). Default 0. */
  seed?: number;
  /**
   * The decoding strategy, e.g. `speculative({ drafter: tokenRecycling() })`. Default: autoregressive.
   * One strategy object may serve many calls; stateful drafters see calls one after another per model.
   */
  strategy?: Strategy;
  /** Logits processors applied before the sampling options' own processors (penalties, constraints...). */
  processors?: readonly LogitsProcessor<unknown>[];
}

/** Tokens generated per call when `maxTokens` is not set (core's default). */
export const DEFAULT_MAX_TOKENS = 256;

/** Keys of {@link DecodekitDecodeOptions} that map one-to-one onto core's `GenerateOptions`. */
const GENERATE_KEYS = [
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
] as const satisfies readonly (keyof DecodekitDecodeOptions & keyof GenerateOptions)[];

/** Instance settings overlaid with call options (defined call values win). */
export function mergeDecodeOptions(
  instance: DecodekitDecodeOptions,
  call: DecodekitDecodeOptions | undefined,
): DecodekitDecodeOptions {
  const merged: DecodekitDecodeOptions = { ...pickDecodeOptions(instance) };
  if (!call) return merged;
  for (const [key, value] of Object.entries(pickDecodeOptions(call))) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** Only the decode-option fields of an object (constructor fields or call options carry many others). */
export function pickDecodeOptions(source: DecodekitDecodeOptions): DecodekitDecodeOptions {
  const picked: Record<string, unknown> = {};
  for (const key of [...GENERATE_KEYS, 'strategy', 'processors'] as const) {
    if (source[key] !== undefined) picked[key] = source[key];
  }
  return picked as DecodekitDecodeOptions;
}

/** The `GenerateOptions` of one call (sampling fields, stop strings and the signal). */
export function toGenerateOptions(
  options: DecodekitDecodeOptions,
  extra: { stop?: readonly string[]; signal?: AbortSignal },
): GenerateOptions {
  const generate: Record<string, unknown> = {};
  for (const key of GENERATE_KEYS) if (options[key] !== undefined) generate[key] = options[key];
  if (extra.stop && extra.stop.length > 0) generate.stop = [...extra.stop];
  if (extra.signal) generate.signal = extra.signal;
  return generate as GenerateOptions;
}

/**
 * Validates decode options once, where they are given (constructor or call), with core's own checks, and
 * the fields core does not know (strategy, processors, stop).
 * @throws InvalidArgumentError naming the offending option.
 */
export function validateDecodeOptions(
  options: DecodekitDecodeOptions & { stop?: readonly string[] },
): void {
  resolveGenerateOptions(toGenerateOptions(options, { stop: options.stop }));
  const { strategy, processors } = options;
  if (
    strategy !== undefined &&
    (strategy === null || (strategy as { kind?: unknown }).kind !== 'strategy')
  ) {
    throw new InvalidArgumentError({
      argument: 'strategy',
      message: 'must be a decodekit Strategy, e.g. speculative({ drafter }) or autoregressive().',
    });
  }
  if (processors !== undefined) {
    if (!Array.isArray(processors)) {
      throw new InvalidArgumentError({
        argument: 'processors',
        message: 'must be an array of logits processors.',
      });
    }
    processors.forEach((processor, index) => {
      if (
        !processor ||
        typeof processor.process !== 'function' ||
        typeof processor.init !== 'function'
      ) {
        throw new InvalidArgumentError({
          argument: `processors[${index}]`,
          message: 'is not a logits processor (it needs init, advance and process).',
        });
      }
    });
  }
}
