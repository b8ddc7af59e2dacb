/**
 * The `.dkz` container: a header that names the model and the settings, then independently checked blocks.
 *
 * ```text
 * header  "DKAC" version:u8 modelId:str revision:str dtype:str backendId:str vocabSize:uv contextLength:uv
 *         startToken:uv precision:uv windowBits:uv contextKeep:uv flags:uv (bit 0: match model)
 *         tokenizerHash:u32 fingerprint:u32
 * block   byteLength:uv (> 0) symbolCount:uv stripCount:uv stripDelta:uv* body crc32(block bytes):u32
 *   body  windowBits = 0:  payloadLength:uv payload
 *         windowBits = W:  windowCount:uv windowSymbols:uv* ⌈windowCount·W / 8⌉ bytes (W bits per window)
 * end     0:uv totalLength:uv crc32(all bytes):u32
 * ```
 * `uv` is an unsigned LEB128 varint, `str` a uv length then UTF-8, `u32` little-endian.
 */
import { CompressedDataError } from '@decodekit/core';

export const MAGIC = Uint8Array.of(0x44, 0x4b, 0x41, 0x43); // "DKAC"
export const FORMAT_VERSION = 1;

/** Everything the header of a compressed stream records. */
export interface CompressedHeader {
  readonly version: number;
  /** Model id given at compression (e.g. `karpathy/tinyllamas/stories260K`). */
  readonly modelId: string;
  /** Content hash of the model files given at compression ('' when none was given). */
  readonly revision: string;
  /** Weight dtype given at compression ('' when none was given). */
  readonly dtype: string;
  /** Backend that computed the logits (informative: decompress on the same one). */
  readonly backendId: string;
  readonly vocabSize: number;
  readonly contextLength: number;
  /** Token fed first (BOS, else the first EOS, else 0). */
  readonly startToken: number;
  /** log2 of the frequency tables' total. */
  readonly precision: number;
  /** Equal-Info window size in bits, 0 when off. */
  readonly windowBits: number;
  /** Tokens kept when the context is full. */
  readonly contextKeep: number;
  /** Whether the match model is mixed into the LM's distributions. */
  readonly matchModel: boolean;
  /** CRC-32 of the tokenizer's byte table. */
  readonly tokenizerHash: number;
  /** CRC-32 of the quantized first distribution (after the start token): the model's numeric fingerprint. */
  readonly fingerprint: number;
}

/** Appends bytes; grows as needed. */
export class ByteWriter {
  private bytes = new Uint8Array(64);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`varint out of range: ${value}`);
    while (value >= 0x80) {
      this.byte((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.byte(value);
  }

  u32(value: number): void {
    this.reserve(4);
    for (let i = 0; i < 4; i++) this.bytes[this.length++] = (value >>> (8 * i)) & 0xff;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  string(value: string): void {
    const bytes = new TextEncoder().encode(value);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Serializes a header. */
export function writeHeader(header: Omit<CompressedHeader, 'version'>): Uint8Array {
  const writer = new ByteWriter();
  writer.raw(MAGIC);
  writer.byte(FORMAT_VERSION);
  writer.string(header.modelId);
  writer.string(header.revision);
  writer.string(header.dtype);
  writer.string(header.backendId);
  writer.varint(header.vocabSize);
  writer.varint(header.contextLength);
  writer.varint(header.startToken);
  writer.varint(header.precision);
  writer.varint(header.windowBits);
  writer.varint(header.contextKeep);
  writer.varint(header.matchModel ? 1 : 0);
  writer.u32(header.tokenizerHash);
  writer.u32(header.fingerprint);
  return writer.finish();
}

/**
 * Reads a stream of chunks as bytes, varints and strings, holding only what has not been consumed yet.
 * Running out of input is a CompressedDataError (truncated file).
 */
export class ChunkReader {
  private buffer = new Uint8Array(0);
  private offset = 0;
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private done = false;
  /** Bytes consumed so far. */
  consumed = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  private async fill(needed: number): Promise<boolean> {
    while (this.buffer.length - this.offset < needed && !this.done) {
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const rest = this.buffer.subarray(this.offset);
      const merged = new Uint8Array(rest.length + next.value.length);
      merged.set(rest);
      merged.set(next.value, rest.length);
      this.buffer = merged;
      this.offset = 0;
    }
    return this.buffer.length - this.offset >= needed;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  async bytes(length: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill(length)))
      throw new CompressedDataError({ reason: `it ends inside ${what} (truncated file)` });
    const out = this.buffer.slice(this.offset, this.offset + length);
    this.offset += length;
    this.consumed += length;
    return out;
  }

  async byte(what: string): Promise<number> {
    return (await this.bytes(1, what))[0];
  }

  async varint(what: string): Promise<number> {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = await this.byte(what);
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new CompressedDataError({ reason: `${what} is not a valid varint` });
  }

  async u32(what: string): Promise<number> {
    const bytes = await this.bytes(4, what);
    return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
  }

  async string(what: string): Promise<string> {
    const length = await this.varint(what);
    if (length > 4096)
      throw new CompressedDataError({ reason: `${what} is implausibly long (${length} bytes)` });
    return new TextDecoder().decode(await this.bytes(length, what));
  }
}

/** Reads and checks a header. */
export async function readHeader(reader: ChunkReader): Promise<CompressedHeader> {
  const magic = await reader.bytes(4, 'the magic number');
  if (!magic.every((byte, i) => byte === MAGIC[i])) {
    throw new CompressedDataError({
      reason: 'it does not start with "DKAC"',
      hint: 'This is not a file written by decodekit compress.',
    });
  }
  const version = await reader.byte('the version');
  if (version !== FORMAT_VERSION) {
    throw new CompressedDataError({
      reason: `format version ${version} is not supported (this decodekit reads version ${FORMAT_VERSION})`,
      hint: 'Decompress it with the decodekit version that wrote it.',
    });
  }
  return {
    version,
    modelId: await reader.string('the model id'),
    revision: await reader.string('the revision'),
    dtype: await reader.string('the dtype'),
    backendId: await reader.string('the backend id'),
    vocabSize: await reader.varint('the vocabulary size'),
    contextLength: await reader.varint('the context length'),
    startToken: await reader.varint('the start token'),
    precision: await reader.varint('the precision'),
    windowBits: await reader.varint('the window size'),
    contextKeep: await reader.varint('the context keep'),
    matchModel: ((await reader.varint('the flags')) & 1) === 1,
    tokenizerHash: await reader.u32('the tokenizer hash'),
    fingerprint: await reader.u32('the fingerprint'),
  };
}
