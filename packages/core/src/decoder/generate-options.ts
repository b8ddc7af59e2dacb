import { InvalidArgumentError } from '../errors.js';
import type { ChatMessage } from '../types.js';

/** What to continue: text, already-tokenized ids, or a chat rendered with the model's chat template. */
export type Prompt =
  string | { readonly tokens: readonly number[] } | { readonly messages: readonly ChatMessage[] };

/** Per-call options of `decoder.generate()` and `decoder.stream()`. */
export interface GenerateOptions {
  /** Most tokens to generate (EOS included). Default 256. Generation also stops at the model's context. */
  maxTokens?: number;
  /** 0 (the default) decodes greedily; > 0 samples from the processed distribution. */
  temperature?: number;
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
  /** Ban repeating any n-gram of this size (Hugging Face `no_repeat_ngram_size`). */
  noRepeatNgramSize?: number;
  /** Strings that end generation; the returned text stops before them. */
  stop?: string | readonly string[];
  /** Seed of the sampler's random source (same seed, same output). Default 0. */
  seed?: number;
  signal?: AbortSignal;
  /** Prepend BOS as the model was trained (default true). Ignored for `{ tokens }` prompts. */
  addSpecialTokens?: boolean;
  /** Keep generating past EOS tokens (benchmarks). */
  ignoreEos?: boolean;
}

/** GenerateOptions after defaults and validation. */
export interface ResolvedOptions {
  maxTokens: number;
  temperature: number;
  stop: readonly string[];
  seed: number;
  signal?: AbortSignal;
  addSpecialTokens: boolean;
  ignoreEos: boolean;
  options: GenerateOptions;
}

/** Matches an unpaired UTF-16 surrogate (paired ones are one code point under the u flag). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function check(condition: boolean, argument: string, message: string): void {
  if (!condition) throw new InvalidArgumentError({ argument, message });
}

/** Validates options once per call (never inside the token loop). */
export function resolveGenerateOptions(options: GenerateOptions = {}): ResolvedOptions {
  const maxTokens = options.maxTokens ?? 256;
  check(
    Number.isInteger(maxTokens) && maxTokens > 0,
    'maxTokens',
    `must be a positive integer, got ${maxTokens}.`,
  );
  const temperature = options.temperature ?? 0;
  check(
    Number.isFinite(temperature) && temperature >= 0,
    'temperature',
    `must be ≥ 0 (0 = greedy), got ${temperature}.`,
  );
  if (options.topP !== undefined) {
    check(options.topP > 0 && options.topP <= 1, 'topP', `must be in (0, 1], got ${options.topP}.`);
  }
  if (options.topK !== undefined) {
    check(
      Number.isInteger(options.topK) && options.topK >= 0,
      'topK',
      `must be a non-negative integer, got ${options.topK}.`,
    );
  }
  if (options.minP !== undefined)
    check(
      options.minP >= 0 && options.minP <= 1,
      'minP',
      `must be in [0, 1], got ${options.minP}.`,
    );
  if (options.typicalP !== undefined) {
    check(
      options.typicalP > 0 && options.typicalP <= 1,
      'typicalP',
      `must be in (0, 1], got ${options.typicalP}.`,
    );
  }
  if (options.repetitionPenalty !== undefined) {
    check(
      Number.isFinite(options.repetitionPenalty) && options.repetitionPenalty > 0,
      'repetitionPenalty',
      `must be a finite number > 0 (1 = off), got ${options.repetitionPenalty}.`,
    );
  }
  for (const name of ['presencePenalty', 'frequencyPenalty'] as const) {
    const value = options[name];
    if (value !== undefined)
      check(
        Number.isFinite(value),
        name,
        `must be a finite number (0 = off, typically in [-2, 2]), got ${value}.`,
      );
  }
  if (options.noRepeatNgramSize !== undefined) {
    check(
      Number.isInteger(options.noRepeatNgramSize) && options.noRepeatNgramSize >= 1,
      'noRepeatNgramSize',
      `must be a positive integer, got ${options.noRepeatNgramSize}.`,
    );
  }
  const stop =
    options.stop === undefined
      ? []
      : typeof options.stop === 'string'
        ? [options.stop]
        : [...options.stop];
  check(
    stop.every(s => typeof s === 'string' && s.length > 0),
    'stop',
    'stop strings must be non-empty strings.',
  );
  // A lone UTF-16 surrogate can never appear in decoded text: such a stop string would silently never match.
  check(
    stop.every(s => !LONE_SURROGATE.test(s)),
    'stop',
    'a stop string contains a lone UTF-16 surrogate (not valid Unicode text).',
  );
  const seed = options.seed ?? 0;
  check(Number.isInteger(seed), 'seed', `must be an integer, got ${seed}.`);
  return {
    maxTokens,
    temperature,
    stop,
    seed,
    signal: options.signal,
    addSpecialTokens: options.addSpecialTokens ?? true,
    ignoreEos: options.ignoreEos ?? false,
    options,
  };
}
