/**
 * Equal-Info Windows as tokens for a second model (Lester et al., 2024, "Training LLMs over Neurally
 * Compressed Text", §3): text is segmented so that each window's arithmetic code fits in `windowBits` bits;
 * the model (M1) and the coder are reset at every window, so any window decodes alone given its token count.
 * The container (`compress({ windowBits })`) stores the same windows; this API hands them out one by one.
 */
import { InvalidArgumentError, type Tokenizer, type CausalLM } from '@decodekit/core';
import { bytesToSymbols, symbolsToBytes } from './alphabet.js';
import { checkInteger, decodeStream, encodeWindows, setup, type CodedWindow } from './codec.js';
import { BitReader, MAX_PRECISION, MIN_PRECISION } from './range-coder.js';

/** Options of {@link equalInfoWindows} and {@link decodeEqualInfoWindow}. */
export interface EqualInfoWindowOptions {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  /** Window size in bits (the paper uses 16 to 128); at least `precision + 4`. */
  readonly windowBits: number;
  /** log2 of the frequency total (default 12, so that 16-bit windows work). */
  readonly precision?: number;
  /** Mix the match model into M1 (default false: the paper's M1 is the LM alone). */
  readonly matchModel?: boolean;
  readonly signal?: AbortSignal;
}

/** The windows of one text. */
export interface EqualInfoWindows {
  readonly windows: readonly CodedWindow[];
  /** Token ids in order (the concatenation of the windows' tokens). */
  readonly symbols: readonly number[];
  /** Dummy-prefix spaces to delete when joining the windows' bytes (see `symbolsToBytes`). */
  readonly strips: readonly number[];
}

function resolve(options: EqualInfoWindowOptions): { precision: number; windowBits: number } {
  const precision = checkInteger(
    'precision',
    options.precision ?? 12,
    MIN_PRECISION,
    MAX_PRECISION,
  );
  const windowBits = checkInteger('windowBits', options.windowBits, precision + 4, 1 << 20);
  return { precision, windowBits };
}

/**
 * Segments `input` into Equal-Info windows: each holds as many tokens as code in ≤ `windowBits` bits with the
 * model and coder reset at its start.
 */
export async function equalInfoWindows(
  input: Uint8Array | string,
  options: EqualInfoWindowOptions,
): Promise<EqualInfoWindows> {
  const { precision, windowBits } = resolve(options);
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const codec = setup(
    options,
    precision,
    Math.floor(options.model.info.contextLength / 2),
    options.matchModel ?? false,
  );
  try {
    const { symbols, strips } = bytesToSymbols(bytes, codec.alphabet, options.tokenizer);
    const windows = await encodeWindows(codec, symbols, windowBits, () => {});
    return { windows, symbols, strips };
  } finally {
    codec.context.dispose();
  }
}

/**
 * Decodes one window alone: its `symbols` token ids and their bytes (concatenated token bytes; a window may
 * end inside a UTF-8 character, and the dummy-prefix space of the text's start is still there).
 */
export async function decodeEqualInfoWindow(
  window: Uint8Array,
  symbolCount: number,
  options: EqualInfoWindowOptions,
): Promise<{ symbols: number[]; bytes: Uint8Array }> {
  const { precision, windowBits } = resolve(options);
  if (window.length * 8 < Math.min(windowBits, 8)) {
    throw new InvalidArgumentError({
      argument: 'window',
      message: `holds ${window.length} bytes, fewer than a ${windowBits}-bit window.`,
    });
  }
  const codec = setup(
    options,
    precision,
    Math.floor(options.model.info.contextLength / 2),
    options.matchModel ?? false,
  );
  try {
    const symbols = await decodeStream(
      codec,
      new BitReader(window, 0, windowBits),
      symbolCount,
      () => {},
    );
    return { symbols, bytes: symbolsToBytes(symbols, [], codec.alphabet) };
  } finally {
    codec.context.dispose();
  }
}
