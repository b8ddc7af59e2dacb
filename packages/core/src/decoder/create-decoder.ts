import {
  AbortedError,
  ContextLengthError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  invariant,
  throwIfAborted,
} from '../errors.js';
import { chain } from '../processors/index.js';
import { categorical, greedy, seededRandom } from '../sampling/index.js';
import { createIncrementalDecoder } from '../tokenizer/index.js';
import type { SearchReport, Strategy, StrategyContext } from '../strategy.js';
import type {
  CausalLM,
  DecodeEvent,
  DecodeStats,
  FinishReason,
  LogitsProcessor,
  Sequence,
  Tokenizer,
} from '../types.js';
import { autoregressive } from '../strategies/autoregressive.js';
import { buildOptionProcessors } from './option-processors.js';
import { resolveGenerateOptions, type GenerateOptions, type Prompt } from './generate-options.js';
import { StopMatcher } from './stop-matcher.js';

/** The result of `decoder.generate()`. */
export interface GenerateResult {
  text: string;
  /** Generated ids (the prompt excluded; an EOS that ended generation included). */
  tokens: number[];
  /** Prompt ids as fed to the model. */
  promptTokens: number[];
  reason: FinishReason;
  stats: DecodeStats;
}

/** One ranked hypothesis of `decoder.search()`. */
export interface SearchHypothesis {
  /** Generated ids (the prompt excluded; an EOS that finished it included). */
  tokens: number[];
  /** `tokens` as text, as it reads after the prompt (special tokens skipped); '' without a tokenizer. */
  text: string;
  /**
   * The strategy's ranking score, higher is better (beam search: length-normalized log-probability;
   * RankGen: the scorer's; superposed decoding: the interpolated log-score). NaN when the strategy ranks
   * nothing (a strategy that is not a search returns its one output).
   */
  score: number;
  /** Sum of `tokenLogProbabilities`, when known. */
  logProbability?: number;
  /** Log-probability of each token under the processed distribution, when known. [tokens] */
  tokenLogProbabilities?: number[];
}

/** The result of `decoder.search()`: the streamed (best) output, plus every ranked hypothesis. */
export interface SearchResult extends GenerateResult {
  /** Hypotheses, best first. A strategy that is not a search gives one: its output, with score NaN. */
  hypotheses: SearchHypothesis[];
  /** Strategy-specific counters of the search (see each strategy's docs); empty when it reported none. */
  details: Readonly<Record<string, number | string>>;
}

/** What `createDecoder` takes. */
export interface DecoderConfig {
  model: CausalLM;
  /** Needed for text prompts and text output; defaults to `model.tokenizer` when the model carries one. */
  tokenizer?: Tokenizer;
  processors?: readonly LogitsProcessor<unknown>[];
  strategy?: Strategy;
}

/** Anything `decoder.use()` accepts: a logits processor or a strategy. */
export type DecoderPlugin = LogitsProcessor<unknown> | Strategy;

/** A configured decoder. Immutable: `use` returns a new decoder. */
export interface Decoder {
  readonly model: CausalLM;
  readonly tokenizer?: Tokenizer;
  readonly processors: readonly LogitsProcessor<unknown>[];
  readonly strategy: Strategy;
  /** Adds a processor (applied in order) or sets the strategy. */
  use(plugin: DecoderPlugin): Decoder;
  /** Streams `token`, `draft`, `verify` and a final `done` event. Rejects with AbortedError on abort. */
  stream(prompt: Prompt, options?: GenerateOptions): AsyncIterable<DecodeEvent>;
  generate(prompt: Prompt, options?: GenerateOptions): Promise<GenerateResult>;
  /**
   * Runs the strategy like `generate` and returns its ranked hypotheses too: beam search, diverse beam
   * search, RankGen and superposed decoding report several (see their `numReturnSequences`/`beamSize`/
   * `numDrafts`); any other strategy gives its one output.
   */
  search(prompt: Prompt, options?: GenerateOptions): Promise<SearchResult>;
}

function isStrategy(plugin: DecoderPlugin): plugin is Strategy {
  return (plugin as Strategy).kind === 'strategy';
}

/**
 * Creates a decoder over a model.
 * @example
 * const decoder = createDecoder({ model }).use(repetitionPenalty(1.1));
 * const { text } = await decoder.generate('Once upon a time', { maxTokens: 64 });
 */
export function createDecoder(config: DecoderConfig): Decoder {
  const { model } = config;
  if (!model || typeof model.createSequence !== 'function') {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'createDecoder needs a CausalLM (e.g. from loadModel()).',
    });
  }
  const tokenizer = config.tokenizer ?? (model as { tokenizer?: Tokenizer }).tokenizer;
  const processors = [...(config.processors ?? [])];
  const strategy = config.strategy ?? autoregressive();
  for (const capability of strategy.requires ?? []) {
    if (!model.capabilities[capability]) {
      throw new UnsupportedCapabilityError({
        capability,
        backendId: model.capabilities.backendId,
        hint: `Strategy "${strategy.name}" needs it; use a model converted by decodekit (not --plain) or another strategy.`,
      });
    }
  }

  const decoder: Decoder = {
    model,
    tokenizer,
    processors,
    strategy,
    use(plugin) {
      if (isStrategy(plugin))
        return createDecoder({ model, tokenizer, processors, strategy: plugin });
      if (!plugin || typeof plugin.process !== 'function' || typeof plugin.init !== 'function') {
        throw new InvalidArgumentError({
          argument: 'plugin',
          message: 'use() takes a logits processor or a strategy.',
        });
      }
      return createDecoder({ model, tokenizer, processors: [...processors, plugin], strategy });
    },
    stream: (prompt, options) =>
      runDecode({ model, tokenizer, processors, strategy }, prompt, options),
    generate: (prompt, options) =>
      collect(runDecode({ model, tokenizer, processors, strategy }, prompt, options)),
    async search(prompt, options) {
      let report: SearchReport | undefined;
      const result = await collect(
        runDecode({ model, tokenizer, processors, strategy }, prompt, options, latest => {
          report = latest;
        }),
      );
      const reported = report?.hypotheses ?? [{ tokens: result.tokens, score: Number.NaN }];
      const promptText = tokenizer ? tokenizer.decode(result.promptTokens) : '';
      // A continuation's text as it reads after the prompt (a leading space included); an encoder-decoder
      // model's output does not continue its prompt (the source).
      const textOf = (ids: readonly number[]): string => {
        if (!tokenizer) return '';
        if (model.encoderDecoder !== undefined) return tokenizer.decode([...ids]);
        const whole = tokenizer.decode([...result.promptTokens, ...ids]);
        return whole.startsWith(promptText)
          ? whole.slice(promptText.length)
          : tokenizer.decode([...ids]);
      };
      return {
        ...result,
        hypotheses: reported.map(hypothesis => ({
          tokens: [...hypothesis.tokens],
          text: textOf(hypothesis.tokens),
          score: hypothesis.score,
          ...(hypothesis.tokenLogProbabilities
            ? {
                tokenLogProbabilities: [...hypothesis.tokenLogProbabilities],
                logProbability: hypothesis.tokenLogProbabilities.reduce((sum, x) => sum + x, 0),
              }
            : {}),
        })),
        details: report?.details ?? {},
      };
    },
  };
  return decoder;
}

/** Drains a decode stream into its result. */
async function collect(events: AsyncIterable<DecodeEvent>): Promise<GenerateResult> {
  let result: GenerateResult | undefined;
  for await (const event of events) {
    if (event.type === 'done') {
      result = {
        text: event.text,
        tokens: event.tokens,
        promptTokens: event.promptTokens,
        reason: event.reason,
        stats: event.stats,
      };
    }
  }
  if (!result) throw new AbortedError({ reason: 'generation ended without a result' });
  return result;
}

function promptIds(
  prompt: Prompt,
  tokenizer: Tokenizer | undefined,
  addSpecialTokens: boolean,
): number[] {
  if (typeof prompt === 'object' && prompt !== null && 'tokens' in prompt)
    return [...prompt.tokens];
  if (!tokenizer) {
    throw new InvalidArgumentError({
      argument: 'prompt',
      message: 'A text prompt needs a tokenizer: pass one to createDecoder or use { tokens }.',
    });
  }
  if (typeof prompt === 'string') return tokenizer.encode(prompt, { addSpecialTokens });
  if (typeof prompt === 'object' && prompt !== null && 'messages' in prompt) {
    return tokenizer.encode(
      tokenizer.applyChatTemplate(prompt.messages, { addGenerationPrompt: true }),
      {
        addSpecialTokens,
      },
    );
  }
  throw new InvalidArgumentError({
    argument: 'prompt',
    message: 'Pass a string, { tokens } or { messages }.',
  });
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

async function* runDecode(
  setup: {
    model: CausalLM;
    tokenizer?: Tokenizer;
    processors: readonly LogitsProcessor<unknown>[];
    strategy: Strategy;
  },
  prompt: Prompt,
  rawOptions: GenerateOptions | undefined,
  onSearch?: (report: SearchReport) => void,
): AsyncGenerator<DecodeEvent> {
  const { model, tokenizer, strategy } = setup;
  const options = resolveGenerateOptions(rawOptions);
  const { signal } = options;
  throwIfAborted(signal);
  const ids = promptIds(prompt, tokenizer, options.addSpecialTokens);
  const { vocabSize, contextLength } = model.info;
  const seq2seq = model.encoderDecoder;
  if (ids.length === 0) {
    throw new InvalidArgumentError({
      argument: 'prompt',
      message: 'The prompt is empty: give at least one token (e.g. BOS).',
    });
  }
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidArgumentError({
        argument: 'prompt',
        message: `token id ${id} is outside the vocabulary [0, ${vocabSize}).`,
      });
    }
  }
  if (seq2seq !== undefined && ids.length > seq2seq.maxSourceLength) {
    throw new ContextLengthError({
      length: ids.length,
      contextLength: seq2seq.maxSourceLength,
      what: `The source (the prompt, ${ids.length} tokens) of this encoder-decoder model`,
    });
  }
  // An encoder-decoder model reads the prompt with its encoder; its decoder starts from the start token.
  const prefix = seq2seq === undefined ? ids : [seq2seq.decoderStartTokenId];
  if (prefix.length >= contextLength) {
    throw new ContextLengthError({
      length: ids.length + 1,
      contextLength,
      what: `The prompt (${ids.length} tokens) plus one new token`,
    });
  }

  const processor: LogitsProcessor<unknown> = chain(
    ...setup.processors,
    ...buildOptionProcessors(options),
  );
  const sampler = options.temperature === 0 ? greedy() : categorical();
  const random = seededRandom(options.seed);
  const eos = new Set(options.ignoreEos ? [] : model.info.eosTokenIds);
  const detokenizer = tokenizer
    ? createIncrementalDecoder(tokenizer, { skipSpecialTokens: true, prefix })
    : undefined;
  const stopMatcher = new StopMatcher(options.stop);

  const tokens = [...prefix];
  const generated: number[] = [];
  let processorState: unknown = processor.init(prefix, {
    maxTokens: Math.min(options.maxTokens, contextLength - prefix.length),
  });
  let finish: FinishReason | undefined;
  const stats: DecodeStats = {
    promptTokens: ids.length,
    generatedTokens: 0,
    forwardPasses: 0,
    prefillMs: 0,
    decodeMs: 0,
    tokensPerSecond: 0,
    meanAcceptedTokens: 0,
  };
  let decodeForwards = 0;
  let speculativeSeen = false;
  const queue: DecodeEvent[] = [];
  const warned = new Set<string>();
  let wake: (() => void) | undefined;
  const push = (event: DecodeEvent): void => {
    queue.push(event);
    wake?.();
  };

  const start = now();
  let sequence: Sequence;
  if (seq2seq === undefined) {
    sequence = model.createSequence();
  } else {
    // The encoder runs once per request; every sequence of this generation (forks, beams) shares its output.
    const encoding = await seq2seq.encode(Int32Array.from(ids), { signal });
    stats.encoderCalls = 1;
    throwIfAborted(signal);
    sequence = model.createSequence({ encoding });
  }
  const context: StrategyContext = {
    model,
    sequence,
    get tokens() {
      return tokens;
    },
    promptLength: prefix.length,
    ...(seq2seq === undefined ? {} : { source: ids }),
    processor,
    get processorState() {
      return processorState;
    },
    sampler,
    random,
    seed: options.seed,
    temperature: options.temperature,
    signal,
    remaining: () =>
      finish ? 0 : Math.min(options.maxTokens - generated.length, contextLength - tokens.length),
    async forward(input, forwardOptions) {
      throwIfAborted(signal);
      const output = await (forwardOptions?.sequence ?? sequence).forward(input, { signal });
      stats.forwardPasses += 1;
      decodeForwards += 1;
      throwIfAborted(signal);
      return output;
    },
    emit(tokenId, origin) {
      if (finish) return false;
      tokens.push(tokenId);
      generated.push(tokenId);
      processorState = processor.advance(processorState, tokenId);
      let text = detokenizer ? stopMatcher.push(detokenizer.push(tokenId)) : '';
      if (eos.has(tokenId)) finish = 'eos';
      else if (stopMatcher.stoppedAt !== undefined) finish = 'stop';
      else if (generated.length >= options.maxTokens || tokens.length >= contextLength)
        finish = 'length';
      // The last token carries whatever text was held back (stop-string prefixes, partial characters).
      if (finish && detokenizer)
        text += stopMatcher.push(detokenizer.flush()) + stopMatcher.flush();
      push({ type: 'token', tokenId, text, origin });
      return finish === undefined;
    },
    report: event => push(event),
    warn(code, message) {
      if (warned.has(code)) return;
      warned.add(code);
      push({ type: 'warning', code, message });
    },
    reportSearch(report) {
      onSearch?.(report);
    },
    recordDraft({ proposed, accepted, draftMs, verifyMs }) {
      speculativeSeen = true;
      stats.draftTokens = (stats.draftTokens ?? 0) + proposed;
      stats.acceptedDraftTokens = (stats.acceptedDraftTokens ?? 0) + accepted;
      stats.draftMs = (stats.draftMs ?? 0) + draftMs;
      stats.verifyMs = (stats.verifyMs ?? 0) + verifyMs;
    },
  };

  let failure: unknown;
  let running = true;
  let decodeStart = start;
  const task = (async () => {
    try {
      if (prefix.length > 1) {
        // Prefill everything but the last prompt token: that one is the first pending token.
        await context.forward({ tokens: Int32Array.from(prefix.slice(0, -1)) });
        sequence.commit(range(prefix.length - 1));
        decodeForwards = 0;
      }
      decodeStart = now();
      stats.prefillMs = decodeStart - start;
      await strategy.run(context);
      if (!finish) finish = 'length';
    } catch (error) {
      failure = error;
    } finally {
      running = false;
      wake?.();
    }
  })();

  try {
    while (running || queue.length > 0) {
      if (queue.length === 0) {
        await new Promise<void>(resolve => (wake = resolve));
        wake = undefined;
        continue;
      }
      const event = queue.shift();
      invariant(event !== undefined, 'the event queue is non-empty here');
      yield event;
    }
    await task;
    if (failure) {
      if (signal?.aborted && !AbortedError.isInstance(failure))
        throw new AbortedError({ reason: signal.reason });
      throw failure;
    }
    const end = now();
    stats.generatedTokens = generated.length;
    stats.decodeMs = end - decodeStart;
    stats.tokensPerSecond = stats.decodeMs > 0 ? (generated.length / stats.decodeMs) * 1000 : 0;
    stats.meanAcceptedTokens = decodeForwards > 0 ? generated.length / decodeForwards : 0;
    if (speculativeSeen) {
      stats.acceptanceRate = stats.draftTokens
        ? (stats.acceptedDraftTokens ?? 0) / stats.draftTokens
        : 0;
    }
    yield {
      type: 'done',
      reason: finish ?? 'length',
      stats,
      text: tokenizer ? stopMatcher.finalText : '',
      tokens: generated,
      promptTokens: ids,
    };
  } finally {
    sequence.dispose();
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
