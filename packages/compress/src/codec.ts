/**
 * Lossless compression with a causal LM: arithmetic coding of the model's tokens over integer-quantized
 * next-token distributions (Lester et al., 2024, "Training LLMs over Neurally Compressed Text",
 * https://arxiv.org/abs/2404.03626, and the LM-as-compressor line of work it builds on), with the paper's
 * Equal-Info Windows as an option.
 */
import {
  CompressedDataError,
  InvalidArgumentError,
  InvariantError,
  ModelMismatchError,
  throwIfAborted,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';
import {
  buildAlphabet,
  bytesToSymbols,
  concatBytes,
  symbolsToBytes,
  type Alphabet,
} from './alphabet.js';
import {
  ByteWriter,
  ChunkReader,
  readHeader,
  writeHeader,
  type CompressedHeader,
} from './container.js';
import { crc32 } from './crc32.js';
import { ModelContext } from './model-context.js';
import { MatchModel, mixPrediction } from './match-model.js';
import { accumulate, quantizeLogits, quantizeScratch } from './quantize.js';
import {
  ArithmeticDecoder,
  ArithmeticEncoder,
  BitReader,
  BitWriter,
  MAX_PRECISION,
  MIN_PRECISION,
} from './range-coder.js';

/** What identifies the model beyond its numbers; recorded in the header and checked on decompression. */
export interface ModelIdentity {
  /** Model id (default: `model.info.name`). */
  readonly modelId?: string;
  /** A content hash of the model files (the CLI uses sha256 of the ONNX graph and tokenizer.json). */
  readonly revision?: string;
  /** Weight dtype, e.g. `fp32`, `q4`. */
  readonly dtype?: string;
}

/** Progress of a compression or decompression. */
export interface CodecProgress {
  /** Uncompressed bytes done. */
  readonly plainBytes: number;
  /** Compressed bytes read or written. */
  readonly compressedBytes: number;
  /** Tokens coded. */
  readonly tokens: number;
}

/** Options shared by compression and decompression. */
export interface CodecOptions {
  /** Any causal LM; encoder and decoder must load the same one on the same backend. */
  readonly model: CausalLM;
  /** The model's tokenizer (`model.tokenizer` of a LoadedModel). */
  readonly tokenizer: Tokenizer;
  /** Recorded in the header (compress) or checked against it (decompress). */
  readonly identity?: ModelIdentity;
  /** Called after every block and every 256 tokens. */
  readonly onProgress?: (progress: CodecProgress) => void;
  readonly signal?: AbortSignal;
}

/** Options of {@link compress} and {@link compressStream}. */
export interface CompressOptions extends CodecOptions {
  /** log2 of the frequency total of the quantized distributions, 8..24 (default 16). */
  readonly precision?: number;
  /**
   * Equal-Info Windows: each window codes as many tokens as fit in `windowBits` bits, resets the model and the
   * coder, and is padded to exactly `windowBits` bits, so every window decodes on its own. Off by default.
   * Must be at least `precision + 4`.
   */
  readonly windowBits?: number;
  /** Input bytes per block (default 16384): memory stays bounded by a block and the model's context. */
  readonly blockBytes?: number;
  /** Tokens kept when the context is full (default: half the context length). */
  readonly contextKeep?: number;
  /**
   * Mix a token-level match model into the LM's distributions (default true): it predicts the token that
   * followed the last earlier occurrence of the current 3-token context, which captures exact repetition
   * (markup, repeated keys and paragraphs) a small LM misses. Reset with the model in each Equal-Info window.
   */
  readonly matchModel?: boolean;
}

/** Options of {@link decompress} and {@link decompressStream}. */
export type DecompressOptions = CodecOptions;

const DEFAULT_PRECISION = 16;
const DEFAULT_BLOCK_BYTES = 16384;
const PROGRESS_EVERY = 256;
const MAX_BLOCK_BYTES = 1 << 26;

/** @internal */
export interface CodecSetup {
  alphabet: Alphabet;
  context: ModelContext;
  precision: number;
  /** Cumulative quantized table [symbols + 1] of the next symbol (the LM's, mixed with the match model's). */
  distribution(): Promise<Uint32Array>;
  /** Appends a coded symbol. */
  accept(symbol: number): void;
  /** Forgets every symbol (a new Equal-Info window). */
  reset(): void;
}

/** @internal */
export function startTokenOf(model: CausalLM): number {
  return model.info.bosTokenId ?? model.info.eosTokenIds[0] ?? 0;
}

/** @internal */
export function setup(
  options: CodecOptions,
  precision: number,
  contextKeep: number,
  useMatchModel: boolean,
): CodecSetup {
  const { model, tokenizer } = options;
  const alphabet = buildAlphabet(tokenizer, model.info.vocabSize);
  if (alphabet.codableCount + (alphabet.symbolCount - alphabet.vocabSize) > 2 ** precision / 2) {
    throw new InvalidArgumentError({
      argument: 'precision',
      message: `2^${precision} is too small for ${alphabet.codableCount} codable tokens; use precision ≥ ${Math.ceil(Math.log2(alphabet.codableCount + 256)) + 1}.`,
    });
  }
  const context = new ModelContext(model, startTokenOf(model), contextKeep, options.signal);
  const scratch = quantizeScratch(alphabet);
  const matchModel = useMatchModel ? new MatchModel() : undefined;
  return {
    alphabet,
    context,
    precision,
    async distribution() {
      const frequencies = quantizeLogits(await context.next(), alphabet, precision, scratch);
      const prediction = matchModel?.prediction();
      if (prediction)
        mixPrediction(frequencies, 2 ** precision, prediction.token, prediction.probability);
      return accumulate(frequencies, scratch.cumulative);
    },
    accept(symbol) {
      context.accept(symbol);
      matchModel?.update(symbol);
    },
    reset() {
      context.reset();
      matchModel?.reset();
    },
  };
}

/** @internal */
export function checkInteger(argument: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError({
      argument,
      message: `must be an integer in [${min}, ${max}], got ${value}.`,
    });
  }
  return value;
}

/**
 * Compresses a stream of byte chunks (any bytes: text, binary, invalid UTF-8) into the container format.
 * Yields the header, then one chunk per block, then the trailer. Memory stays bounded by `blockBytes` and the
 * model's context, however long the input.
 *
 * @throws InvalidArgumentError on bad options; AbortedError when `signal` aborts.
 */
export async function* compressStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: CompressOptions,
): AsyncGenerator<Uint8Array> {
  const { model, identity = {}, onProgress, signal } = options;
  const precision = checkInteger(
    'precision',
    options.precision ?? DEFAULT_PRECISION,
    MIN_PRECISION,
    MAX_PRECISION,
  );
  const windowBits =
    options.windowBits === undefined
      ? 0
      : checkInteger('windowBits', options.windowBits, precision + 4, 1 << 20);
  const blockBytes = checkInteger(
    'blockBytes',
    options.blockBytes ?? DEFAULT_BLOCK_BYTES,
    16,
    MAX_BLOCK_BYTES,
  );
  const contextLength = model.info.contextLength;
  if (contextLength < 2)
    throw new InvalidArgumentError({
      argument: 'model',
      message: `needs a context of at least 2 tokens, has ${contextLength}.`,
    });
  const contextKeep = checkInteger(
    'contextKeep',
    options.contextKeep ?? Math.floor(contextLength / 2),
    1,
    contextLength - 1,
  );
  const useMatchModel = options.matchModel ?? true;
  const codec = setup(options, precision, contextKeep, useMatchModel);
  try {
    const fingerprint = crc32(await codec.distribution());
    const header = writeHeader({
      modelId: identity.modelId ?? model.info.name,
      revision: identity.revision ?? '',
      dtype: identity.dtype ?? '',
      backendId: model.capabilities.backendId,
      vocabSize: model.info.vocabSize,
      contextLength,
      startToken: startTokenOf(model),
      precision,
      windowBits,
      contextKeep,
      matchModel: useMatchModel,
      tokenizerHash: codec.alphabet.hash,
      fingerprint,
    });
    yield header;
    let compressedBytes = header.length;
    let plainBytes = 0;
    let tokens = 0;
    let total = 0;
    let totalCrc = 0;
    const report = (blockStart: number, doneInBlock: number) =>
      onProgress?.({ plainBytes: blockStart + doneInBlock, compressedBytes, tokens });
    for await (const block of cutBlocks(source, blockBytes)) {
      throwIfAborted(signal);
      const { symbols, strips } = bytesToSymbols(block, codec.alphabet, options.tokenizer);
      const writer = new ByteWriter();
      writer.varint(block.length);
      writer.varint(symbols.length);
      writer.varint(strips.length);
      let previous = 0;
      for (const strip of strips) {
        writer.varint(strip - previous);
        previous = strip;
      }
      let doneBytes = 0;
      const onSymbol = (symbol: number) => {
        tokens++;
        doneBytes += codec.alphabet.symbolBytes[symbol]?.length ?? 0;
        if (tokens % PROGRESS_EVERY === 0) report(plainBytes, Math.min(doneBytes, block.length));
      };
      if (windowBits === 0) {
        const payload = await encodeStream(codec, symbols, onSymbol);
        writer.varint(payload.length);
        writer.raw(payload);
      } else {
        const windows = await encodeWindows(codec, symbols, windowBits, onSymbol);
        writer.varint(windows.length);
        for (const window of windows) writer.varint(window.symbols);
        writer.raw(packWindows(windows, windowBits));
      }
      writer.u32(crc32(block));
      const bytes = writer.finish();
      compressedBytes += bytes.length;
      plainBytes += block.length;
      total += block.length;
      totalCrc = crc32(block, totalCrc);
      report(plainBytes, 0);
      yield bytes;
    }
    const trailer = new ByteWriter();
    trailer.varint(0);
    trailer.varint(total);
    trailer.u32(totalCrc);
    yield trailer.finish();
  } finally {
    codec.context.dispose();
  }
}

async function encodeStream(
  codec: CodecSetup,
  symbols: readonly number[],
  onSymbol: (symbol: number) => void,
): Promise<Uint8Array> {
  const encoder = new ArithmeticEncoder(codec.precision);
  for (const symbol of symbols) {
    const cumulative = await codec.distribution();
    encoder.encode(cumulative[symbol], cumulative[symbol + 1]);
    codec.accept(symbol);
    onSymbol(symbol);
  }
  return encoder.finish().bytes;
}

/** One Equal-Info window: its arithmetic code and the tokens it holds. */
export interface CodedWindow {
  /** The code, zero-padded to a whole byte. */
  readonly bytes: Uint8Array;
  /** Bits of the code before padding (≤ the window size). */
  readonly bitLength: number;
  /** Tokens (symbols) coded in the window. */
  readonly symbols: number;
}

/**
 * Equal-Info Windows (Lester et al., 2024, §3): greedily adds tokens to a window while its arithmetic code,
 * closing bits included, fits in `windowBits`; then resets the model context and the coder and starts the
 * next window, so each window decodes on its own.
 * @internal
 */
export async function encodeWindows(
  codec: CodecSetup,
  symbols: readonly number[],
  windowBits: number,
  onSymbol: (symbol: number) => void,
): Promise<CodedWindow[]> {
  const windows: CodedWindow[] = [];
  let encoder = new ArithmeticEncoder(codec.precision);
  let count = 0;
  const closeWindow = () => {
    const { bytes, bitLength } = encoder.finish();
    if (bitLength > windowBits)
      throw new InvariantError({ message: `window of ${bitLength} bits > ${windowBits}` });
    windows.push({ bytes, bitLength, symbols: count });
  };
  codec.reset();
  for (const symbol of symbols) {
    let cumulative = await codec.distribution();
    const before = encoder.snapshot();
    encoder.encode(cumulative[symbol], cumulative[symbol + 1]);
    if (encoder.bitsIfFinished > windowBits) {
      encoder.restore(before);
      if (count === 0)
        throw new InvariantError({ message: `one token needs more than ${windowBits} bits` });
      closeWindow();
      codec.reset();
      encoder = new ArithmeticEncoder(codec.precision);
      count = 0;
      cumulative = await codec.distribution();
      encoder.encode(cumulative[symbol], cumulative[symbol + 1]);
      if (encoder.bitsIfFinished > windowBits) {
        throw new InvariantError({ message: `one token needs more than ${windowBits} bits` });
      }
    }
    codec.accept(symbol);
    count++;
    onSymbol(symbol);
  }
  if (count > 0) closeWindow();
  return windows;
}

/** Packs windows as exactly `windowBits` bits each, one after another. */
function packWindows(windows: readonly CodedWindow[], windowBits: number): Uint8Array {
  const packed = new BitWriter();
  for (const window of windows) {
    const reader = new BitReader(window.bytes, 0, window.bitLength);
    for (let bit = 0; bit < windowBits; bit++) packed.write(reader.read());
  }
  return packed.finish();
}

/**
 * Compresses bytes (or a string, as UTF-8) in one call. Bytes round-trip exactly, whatever they are; a string
 * round-trips exactly unless it holds lone surrogates (TextEncoder writes them as U+FFFD), so pass bytes when
 * the source is not well-formed text.
 */
export async function compress(
  input: Uint8Array | string,
  options: CompressOptions,
): Promise<Uint8Array> {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const parts: Uint8Array[] = [];
  for await (const part of compressStream([bytes], options)) parts.push(part);
  return concatBytes(parts);
}

/** Reads only the header of compressed data (e.g. to find which model to load). */
export async function readCompressedHeader(
  source: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<CompressedHeader> {
  return readHeader(new ChunkReader(source instanceof Uint8Array ? [source] : source));
}

/** Checks that the given model, tokenizer and identity are those the header records. */
function checkModel(
  header: CompressedHeader,
  options: DecompressOptions,
  alphabet: Alphabet,
): void {
  const { model, identity = {} } = options;
  const mismatch = (
    field: string,
    expected: string | number,
    actual: string | number,
    hint?: string,
  ) => {
    throw new ModelMismatchError({
      field,
      expected: String(expected),
      actual: String(actual),
      hint,
    });
  };
  if (header.revision && identity.revision) {
    if (header.revision !== identity.revision) {
      mismatch(
        'revision',
        header.revision,
        identity.revision,
        `It was compressed with "${header.modelId}"${header.dtype ? ` (${header.dtype})` : ''}; load that model to decompress it.`,
      );
    }
  } else {
    const modelId = identity.modelId ?? model.info.name;
    if (header.modelId !== modelId) {
      mismatch(
        'model id',
        header.modelId,
        modelId,
        `Load "${header.modelId}" to decompress it (or pass the revision both sides share).`,
      );
    }
  }
  if (header.dtype && identity.dtype && header.dtype !== identity.dtype)
    mismatch('dtype', header.dtype, identity.dtype);
  if (header.vocabSize !== model.info.vocabSize)
    mismatch('vocabulary size', header.vocabSize, model.info.vocabSize);
  if (header.contextLength !== model.info.contextLength)
    mismatch('context length', header.contextLength, model.info.contextLength);
  if (header.startToken !== startTokenOf(model))
    mismatch('start token', header.startToken, startTokenOf(model));
  if (header.tokenizerHash !== alphabet.hash) {
    mismatch(
      'tokenizer hash',
      hex(header.tokenizerHash),
      hex(alphabet.hash),
      'Use the tokenizer that belongs to the model that compressed it.',
    );
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/**
 * Decompresses a stream of compressed chunks, yielding the original bytes block by block (bounded memory).
 *
 * @throws CompressedDataError when the data is malformed, truncated or fails a checksum.
 * @throws ModelMismatchError when the model, tokenizer, dtype, revision or the backend's numerics differ from
 *   those that compressed it (checked before any output).
 */
export async function* decompressStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: DecompressOptions,
): AsyncGenerator<Uint8Array> {
  const { model, onProgress, signal } = options;
  const reader = new ChunkReader(source);
  const header = await readHeader(reader);
  if (header.precision < MIN_PRECISION || header.precision > MAX_PRECISION) {
    throw new CompressedDataError({ reason: `precision ${header.precision} is out of range` });
  }
  if (header.contextKeep < 1 || header.contextKeep >= header.contextLength) {
    throw new CompressedDataError({ reason: `context keep ${header.contextKeep} is out of range` });
  }
  const codec = setup(options, header.precision, header.contextKeep, header.matchModel);
  try {
    checkModel(header, options, codec.alphabet);
    const fingerprint = crc32(await codec.distribution());
    if (fingerprint !== header.fingerprint) {
      throw new ModelMismatchError({
        field: 'logits fingerprint',
        expected: `${hex(header.fingerprint)} (backend ${header.backendId})`,
        actual: `${hex(fingerprint)} (backend ${model.capabilities.backendId})`,
        hint: 'The model computes different probabilities than the one that compressed it (other weights or dtype, or another backend rounding differently). Decompress with the same model files on the same backend.',
      });
    }
    let plainBytes = 0;
    let tokens = 0;
    let totalCrc = 0;
    for (;;) {
      throwIfAborted(signal);
      const byteLength = await reader.varint('a block length');
      if (byteLength === 0) break;
      const symbolCount = await reader.varint('a token count');
      const stripCount = await reader.varint('a space count');
      if (
        byteLength > MAX_BLOCK_BYTES ||
        stripCount > byteLength + 1 ||
        symbolCount > byteLength + stripCount
      ) {
        throw new CompressedDataError({ reason: 'a block header is inconsistent' });
      }
      const strips: number[] = [];
      let previous = 0;
      for (let i = 0; i < stripCount; i++) {
        previous += await reader.varint('a space offset');
        strips.push(previous);
      }
      const onSymbol = () => {
        tokens++;
        if (tokens % PROGRESS_EVERY === 0)
          onProgress?.({ plainBytes, compressedBytes: reader.consumed, tokens });
      };
      let symbols: number[];
      if (header.windowBits === 0) {
        const payload = await reader.bytes(
          await reader.varint('a payload length'),
          'a block payload',
        );
        symbols = await decodeStream(codec, new BitReader(payload), symbolCount, onSymbol);
      } else {
        const windowCount = await reader.varint('a window count');
        if (windowCount > symbolCount)
          throw new CompressedDataError({ reason: 'more windows than tokens' });
        const counts: number[] = [];
        for (let i = 0; i < windowCount; i++)
          counts.push(await reader.varint('a window token count'));
        if (counts.reduce((sum, count) => sum + count, 0) !== symbolCount) {
          throw new CompressedDataError({ reason: 'the window token counts do not add up' });
        }
        const bits = await reader.bytes(
          Math.ceil((windowCount * header.windowBits) / 8),
          'the windows',
        );
        symbols = [];
        for (let window = 0; window < windowCount; window++) {
          codec.reset();
          const windowReader = new BitReader(bits, window * header.windowBits, header.windowBits);
          symbols.push(...(await decodeStream(codec, windowReader, counts[window], onSymbol)));
        }
      }
      const block = symbolsToBytes(symbols, strips, codec.alphabet);
      const expectedCrc = await reader.u32('a block checksum');
      if (block.length !== byteLength || crc32(block) !== expectedCrc) {
        throw new CompressedDataError({
          reason: `block at byte ${plainBytes} decodes to different bytes than were compressed`,
          hint: `The data is corrupt, or this backend (${model.capabilities.backendId}) computes the model's logits differently from the one that compressed it (${header.backendId}).`,
        });
      }
      plainBytes += block.length;
      totalCrc = crc32(block, totalCrc);
      onProgress?.({ plainBytes, compressedBytes: reader.consumed, tokens });
      yield block;
    }
    const total = await reader.varint('the total length');
    const expectedTotalCrc = await reader.u32('the checksum');
    if (total !== plainBytes || expectedTotalCrc !== totalCrc) {
      throw new CompressedDataError({
        reason: 'the total length or checksum does not match (blocks missing?)',
      });
    }
    if (!(await reader.atEnd()))
      throw new CompressedDataError({ reason: 'there are bytes after the end marker' });
  } finally {
    codec.context.dispose();
  }
}

/** @internal */
export async function decodeStream(
  codec: CodecSetup,
  bits: BitReader,
  count: number,
  onSymbol: () => void,
): Promise<number[]> {
  const decoder = new ArithmeticDecoder(codec.precision, bits);
  const symbols: number[] = [];
  for (let i = 0; i < count; i++) {
    const symbol = decoder.decode(await codec.distribution());
    codec.accept(symbol);
    symbols.push(symbol);
    onSymbol();
  }
  return symbols;
}

/** Decompresses in one call. */
export async function decompress(
  data: Uint8Array,
  options: DecompressOptions,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of decompressStream([data], options)) parts.push(part);
  return concatBytes(parts);
}

/**
 * Splits a byte stream into blocks of at most `blockBytes`, cutting after the last newline in the block's
 * second half when there is one, else at a UTF-8 character boundary, so the tokenizer sees whole lines.
 */
async function* cutBlocks(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  blockBytes: number,
): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(0);
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidArgumentError({
        argument: 'source',
        message: 'must yield Uint8Array chunks (Buffers); encode strings with TextEncoder.',
      });
    }
    const merged = new Uint8Array(buffer.length + chunk.length);
    merged.set(buffer);
    merged.set(chunk, buffer.length);
    buffer = merged;
    while (buffer.length > blockBytes) {
      const cut = cutPoint(buffer, blockBytes);
      yield buffer.slice(0, cut);
      buffer = buffer.slice(cut);
    }
  }
  if (buffer.length > 0) yield buffer;
}

function cutPoint(buffer: Uint8Array, blockBytes: number): number {
  for (let i = blockBytes - 1; i >= blockBytes >> 1; i--) if (buffer[i] === 0x0a) return i + 1;
  for (let i = blockBytes; i > blockBytes - 4; i--) if ((buffer[i] & 0xc0) !== 0x80) return i;
  return blockBytes;
}
