import { InvalidArgumentError, InvariantError, invariant, throwIfAborted } from '@decodekit/core';
import {
  EOW_ID,
  PAD_ID,
  canvasLength,
  charVocabSize,
  checkEtokConfig,
  etokCharset,
  splitWords,
  type EtokConfig,
} from './etok-config.js';

/** Options every {@link EtokModel} call accepts. */
export interface EtokCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * The three parts of an eTok-style model, each one batched forward (an ONNX session each in
 * {@link onnxEtokModel}; a TensorFlow.js model in `@decodekit/train`). Tensors are row-major.
 */
export interface EtokModel {
  readonly config: EtokConfig;
  /**
   * Character encoder: word vectors `[words, dim]` of words given as character ids `[words, maxChars]`
   * (padded with {@link PAD_ID}; the prefix slots are added by the model).
   */
  encodeWords(chars: Int32Array, words: number, options?: EtokCallOptions): Promise<Float32Array>;
  /**
   * Word transformer: from word vectors `[words, dim]` (positions 0..words-1, causal), the prefix vectors
   * `[words, numPrefix, dim]` of the word after each word.
   */
  predictWords(
    wordVectors: Float32Array,
    words: number,
    options?: EtokCallOptions,
  ): Promise<Float32Array>;
  /**
   * Character decoder: logits `[rows, maxChars + 1, charVocab]` where row r, slot j predicts character j of
   * the word (or end-of-word) from its prefix vectors `prefixes[r]` `[numPrefix, dim]` and its characters
   * `chars[r]` `[maxChars]` before j (causal: characters at j and later are not read).
   */
  decodeChars(
    prefixes: Float32Array,
    chars: Int32Array,
    rows: number,
    options?: EtokCallOptions,
  ): Promise<Float32Array>;
}

/** Options of a {@link learnYourTokens} generation. */
export interface EtokGenerateOptions {
  /** Most words to generate (default 32). */
  readonly maxNewWords?: number;
  readonly signal?: AbortSignal;
}

/** One event of {@link LearnYourTokensDecoder.stream}. */
export type EtokEvent =
  | { readonly type: 'word'; readonly word: string; readonly charIds: readonly number[] }
  | { readonly type: 'done'; readonly reason: 'length' | 'empty-word'; readonly stats: EtokStats };

/** What a generation cost. */
export interface EtokStats {
  /** Words emitted. */
  readonly words: number;
  /** Word-transformer forwards (one per word). */
  readonly wordSteps: number;
  /** Character-decoder forwards (one per character, plus one for each end-of-word). */
  readonly charSteps: number;
  /** Character-encoder forwards (one for the prompt, then one per word). */
  readonly encoderCalls: number;
}

/** What {@link LearnYourTokensDecoder.generate} returns. */
export interface EtokResult {
  /** The generated words joined by single spaces (without the prompt). */
  readonly text: string;
  readonly words: string[];
  readonly reason: 'length' | 'empty-word';
  readonly stats: EtokStats;
}

/** A two-level greedy decoder over an {@link EtokModel}. */
export interface LearnYourTokensDecoder {
  readonly name: 'learn-your-tokens';
  /** Streams the generated words of `prompt` (whitespace-separated words, each taken as complete). */
  stream(prompt: string, options?: EtokGenerateOptions): AsyncGenerator<EtokEvent>;
  generate(prompt: string, options?: EtokGenerateOptions): Promise<EtokResult>;
}

/** Index of the largest logit of `row` among ids ≥ 1 (padding is never a prediction); first on ties. */
function argmaxExceptPad(logits: Float32Array, offset: number, vocab: number): number {
  let best = PAD_ID + 1;
  for (let id = best + 1; id < vocab; id++)
    if (logits[offset + id] > logits[offset + best]) best = id;
  return best;
}

/**
 * Learn Your Tokens' two-level decode loop (Thawani et al., 2023; avi-jit/eTok): each word is one
 * word-transformer step over the words so far (the start word, an empty word, first; the last `maxWords`
 * words when longer), then a character sub-loop: the decoder, its prefix slots holding the step's output,
 * spells the next word greedily until it predicts end-of-word (or `maxChars` characters). The new word is
 * encoded into a word vector and the loop repeats. Greedy only. An empty predicted word ends the text.
 *
 * @param model the three parts (e.g. {@link onnxEtokModel})
 */
export function learnYourTokens({ model }: { model: EtokModel }): LearnYourTokensDecoder {
  checkEtokConfig(model.config);
  const { config } = model;
  const { dim, numPrefix, maxChars, maxWords } = config;
  const vocab = charVocabSize(config);
  const charset = etokCharset(config);
  const slots = maxChars + 1;
  invariant(canvasLength(config) === numPrefix + maxChars, 'canvas = prefix slots + characters');

  const encode = async (words: readonly number[][], signal?: AbortSignal) => {
    const chars = new Int32Array(words.length * maxChars);
    words.forEach((ids, w) => chars.set(ids, w * maxChars));
    const vectors = await model.encodeWords(chars, words.length, { signal });
    invariant(vectors.length === words.length * dim, 'encodeWords returns [words, dim]');
    return vectors;
  };

  async function* stream(
    prompt: string,
    { maxNewWords = 32, signal }: EtokGenerateOptions = {},
  ): AsyncGenerator<EtokEvent> {
    if (typeof prompt !== 'string') {
      throw new InvalidArgumentError({ argument: 'prompt', message: 'must be a string.' });
    }
    if (!Number.isInteger(maxNewWords) || maxNewWords < 1) {
      throw new InvalidArgumentError({
        argument: 'maxNewWords',
        message: `must be a positive integer, got ${maxNewWords}.`,
      });
    }
    const promptWords = splitWords(prompt);
    const tooLong = promptWords.find(word => Array.from(word).length > maxChars);
    if (tooLong !== undefined) {
      throw new InvalidArgumentError({
        argument: 'prompt',
        message: `the word "${tooLong}" has more than ${maxChars} characters, the most this model spells; shorten it.`,
      });
    }
    throwIfAborted(signal);
    // The start word (no characters) is what the model was trained to continue from.
    const encoded = await encode([[], ...promptWords.map(word => charset.encode(word))], signal);
    const vectors: Float32Array[] = [];
    for (let w = 0; w < encoded.length / dim; w++)
      vectors.push(encoded.subarray(w * dim, (w + 1) * dim));
    let wordSteps = 0;
    let charSteps = 0;
    let encoderCalls = 1;
    let emitted = 0;
    const stats = (): EtokStats => ({ words: emitted, wordSteps, charSteps, encoderCalls });
    while (emitted < maxNewWords) {
      const window = vectors.slice(-maxWords);
      const stacked = new Float32Array(window.length * dim);
      window.forEach((vector, w) => stacked.set(vector, w * dim));
      throwIfAborted(signal);
      const prefixes = await model.predictWords(stacked, window.length, { signal });
      wordSteps += 1;
      const last = prefixes.slice(
        (window.length - 1) * numPrefix * dim,
        window.length * numPrefix * dim,
      );
      const chars = new Int32Array(maxChars);
      let length = 0;
      while (length < maxChars) {
        throwIfAborted(signal);
        const logits = await model.decodeChars(last, chars, 1, { signal });
        invariant(
          logits.length === slots * vocab,
          'decodeChars returns [rows, maxChars + 1, vocab]',
        );
        charSteps += 1;
        const id = argmaxExceptPad(logits, length * vocab, vocab);
        if (id === EOW_ID) break;
        chars[length++] = id;
      }
      if (length === 0) {
        yield { type: 'done', reason: 'empty-word', stats: stats() };
        return;
      }
      const charIds = Array.from(chars.subarray(0, length));
      emitted += 1;
      yield { type: 'word', word: charset.decode(charIds), charIds };
      if (emitted === maxNewWords) break;
      vectors.push(await encode([charIds], signal));
      encoderCalls += 1;
    }
    yield { type: 'done', reason: 'length', stats: stats() };
  }

  return {
    name: 'learn-your-tokens',
    stream,
    async generate(prompt, options) {
      const words: string[] = [];
      for await (const event of stream(prompt, options)) {
        if (event.type === 'word') words.push(event.word);
        else return { text: words.join(' '), words, reason: event.reason, stats: event.stats };
      }
      throw new InvariantError({ message: 'the word stream ends with a done event' });
    },
  };
}
