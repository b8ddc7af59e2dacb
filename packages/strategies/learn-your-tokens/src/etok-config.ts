import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';

/** Character id of padding (never predicted). */
export const PAD_ID = 0;
/** Character id of end-of-word: the character decoder emits it after a word's last character. */
export const EOW_ID = 1;
/** Character id of a character the charset lacks. */
export const UNK_ID = 2;
/** Ids below this are the special ids above; character `i` of the charset has id `FIRST_CHAR_ID + i`. */
export const FIRST_CHAR_ID = 3;

/**
 * The architecture of an eTok-style word-pooled model (Thawani et al., 2023, "Learn Your Tokens"; official code
 * avi-jit/eTok `newmodel.py`). A word is a canvas of `numPrefix` learnable prefix slots followed by up to
 * `maxChars` characters:
 * - the character encoder (`encoderLayers` bidirectional blocks over one word's canvas) pools the prefix
 *   slots' outputs into one word vector;
 * - the word transformer (`wordLayers` causal blocks over at most `maxWords` word vectors) outputs, at word t,
 *   `numPrefix` vectors placed in the prefix slots of word t + 1's canvas;
 * - the character decoder (`decoderLayers` causal blocks over that canvas) predicts word t + 1's characters
 *   and then end-of-word.
 * Every block is pre-LayerNorm (GPT-2 / minGPT): attention with `heads` heads, then a ReLU MLP of width `ffn`.
 */
export interface EtokConfig {
  /** Model width (every part). */
  readonly dim: number;
  readonly heads: number;
  /** MLP width of every block. */
  readonly ffn: number;
  readonly encoderLayers: number;
  readonly wordLayers: number;
  readonly decoderLayers: number;
  /** Learnable prefix slots per word (eTok's `num_prefix`). */
  readonly numPrefix: number;
  /** Most characters in a word; the canvas has `numPrefix + maxChars` positions. */
  readonly maxChars: number;
  /** Word-level context (block size) in words, the start word included. */
  readonly maxWords: number;
  /** The characters, in id order from {@link FIRST_CHAR_ID} (one code point each). */
  readonly chars: string;
}

/** Character vocabulary size of a config: the special ids plus its characters. */
export function charVocabSize(config: EtokConfig): number {
  return FIRST_CHAR_ID + Array.from(config.chars).length;
}

/** Canvas length of a config: prefix slots plus characters. */
export function canvasLength(config: EtokConfig): number {
  return config.numPrefix + config.maxChars;
}

/**
 * Checks a config's fields (integers in range, `dim` divisible by `heads`, distinct characters, no whitespace
 * character: whitespace separates words).
 * @throws InvalidArgumentError naming the first bad field.
 */
export function checkEtokConfig(config: EtokConfig): void {
  const integer = (field: keyof EtokConfig, min: number) => {
    const value = config[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError({
        argument: `config.${field}`,
        message: `must be an integer ≥ ${min}, got ${String(value)}.`,
      });
    }
  };
  integer('dim', 1);
  integer('heads', 1);
  integer('ffn', 1);
  integer('encoderLayers', 1);
  integer('wordLayers', 1);
  integer('decoderLayers', 1);
  integer('numPrefix', 1);
  integer('maxChars', 1);
  integer('maxWords', 2);
  if (config.dim % config.heads !== 0) {
    throw new InvalidArgumentError({
      argument: 'config.heads',
      message: `dim ${config.dim} must split into ${config.heads} equal heads.`,
    });
  }
  const chars = Array.from(typeof config.chars === 'string' ? config.chars : '');
  if (
    chars.length === 0 ||
    new Set(chars).size !== chars.length ||
    chars.some(c => /\s/u.test(c))
  ) {
    throw new InvalidArgumentError({
      argument: 'config.chars',
      message: 'must be a non-empty string of distinct, non-whitespace characters.',
    });
  }
}

/**
 * Splits text into words at whitespace (eTok's word boundary), dropping empty words.
 * @param text any text
 */
export function splitWords(text: string): string[] {
  return text.split(/\s+/u).filter(word => word.length > 0);
}

/** Maps words to character ids and back for one config's charset. */
export interface EtokCharset {
  /** Character ids of `word` (without end-of-word); unknown characters become {@link UNK_ID}. */
  encode(word: string): number[];
  /** The word spelled by character ids (special ids are skipped). */
  decode(ids: readonly number[]): string;
}

/** The charset of a config. */
export function etokCharset(config: Pick<EtokConfig, 'chars'>): EtokCharset {
  const chars = Array.from(config.chars);
  const idOf = new Map(chars.map((c, i) => [c, FIRST_CHAR_ID + i]));
  return {
    encode: word => Array.from(word, c => idOf.get(c) ?? UNK_ID),
    decode: ids =>
      ids
        .filter(id => id >= FIRST_CHAR_ID && id < FIRST_CHAR_ID + chars.length)
        .map(id => chars[id - FIRST_CHAR_ID])
        .join(''),
  };
}

/**
 * Parses a config from JSON-like data (the `config` of a weights file or the package's `config.json`).
 * @throws ModelFormatError when a field is missing or invalid.
 */
export function parseEtokConfig(data: unknown, path: string): EtokConfig {
  if (typeof data !== 'object' || data === null) {
    throw new ModelFormatError({ path, message: 'is not an eTok config object.' });
  }
  const config = data as EtokConfig;
  try {
    checkEtokConfig(config);
  } catch (error) {
    throw new ModelFormatError({
      path,
      message: `has an invalid eTok config (${(error as Error).message}); re-export it with the training script.`,
      cause: error,
    });
  }
  return {
    dim: config.dim,
    heads: config.heads,
    ffn: config.ffn,
    encoderLayers: config.encoderLayers,
    wordLayers: config.wordLayers,
    decoderLayers: config.decoderLayers,
    numPrefix: config.numPrefix,
    maxChars: config.maxChars,
    maxWords: config.maxWords,
    chars: config.chars,
  };
}

/** Tensor names of one transformer block (`<part>.<layer>.<name>`); matrices are [in, out] (`x @ W`). */
export const ETOK_BLOCK_TENSORS = [
  'ln1.gain',
  'ln1.bias',
  'wq',
  'wk',
  'wv',
  'wo',
  'ln2.gain',
  'ln2.bias',
  'w1',
  'b1',
  'w2',
  'b2',
] as const;

/**
 * Every weight tensor of an eTok model and its shape, in a fixed order: the shared character embedding
 * (`[charVocab + numPrefix, dim]`: characters, then the prefix slots), the position tables, the blocks of the
 * `encoder`, `word` and `decoder` parts, their final LayerNorms, `pool` (prefix outputs → word vector),
 * `unpool` (word output → next word's prefix vectors) and the character `head`.
 */
export function etokWeightShapes(config: EtokConfig): [string, number[]][] {
  const { dim, ffn, numPrefix, maxWords } = config;
  const vocab = charVocabSize(config);
  const block: Record<(typeof ETOK_BLOCK_TENSORS)[number], number[]> = {
    'ln1.gain': [dim],
    'ln1.bias': [dim],
    wq: [dim, dim],
    wk: [dim, dim],
    wv: [dim, dim],
    wo: [dim, dim],
    'ln2.gain': [dim],
    'ln2.bias': [dim],
    w1: [dim, ffn],
    b1: [ffn],
    w2: [ffn, dim],
    b2: [dim],
  };
  const blocks = (part: string, layers: number) =>
    Array.from({ length: layers }, (_, l) =>
      ETOK_BLOCK_TENSORS.map(name => [`${part}.${l}.${name}`, block[name]] as [string, number[]]),
    ).flat();
  return [
    ['charEmbedding', [vocab + numPrefix, dim]],
    ['encoderPosition', [canvasLength(config), dim]],
    ['wordPosition', [maxWords, dim]],
    ['decoderPosition', [canvasLength(config), dim]],
    ...blocks('encoder', config.encoderLayers),
    ['encoder.lnFinal.gain', [dim]],
    ['encoder.lnFinal.bias', [dim]],
    ['pool', [numPrefix * dim, dim]],
    ...blocks('word', config.wordLayers),
    ['word.lnFinal.gain', [dim]],
    ['word.lnFinal.bias', [dim]],
    ['unpool', [dim, numPrefix * dim]],
    ...blocks('decoder', config.decoderLayers),
    ['decoder.lnFinal.gain', [dim]],
    ['decoder.lnFinal.bias', [dim]],
    ['head', [dim, vocab]],
  ];
}

/** Weights of an eTok model by tensor name (see {@link etokWeightShapes}). */
export type EtokWeights = Readonly<Record<string, Float32Array>>;

/**
 * Checks that `weights` has every tensor of `config` at its size.
 * @throws InvalidArgumentError naming the first missing or mis-sized tensor.
 */
export function checkEtokWeights(config: EtokConfig, weights: EtokWeights): void {
  for (const [name, shape] of etokWeightShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const tensor = weights[name];
    if (!(tensor instanceof Float32Array) || tensor.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must be a Float32Array of ${size} values [${shape.join(', ')}], got ${tensor instanceof Float32Array ? tensor.length : typeof tensor}.`,
      });
    }
  }
}
