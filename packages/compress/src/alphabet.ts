/**
 * The coding alphabet of a model + tokenizer, and the byte-exact mapping between arbitrary bytes and symbol
 * sequences. Symbols `0 .. vocabSize-1` are the model's token ids; a token is *codable* when the tokenizer
 * gives it bytes (`tokenBytes`). Symbols from `vocabSize` on are escapes for byte values no single-byte token
 * covers (none for byte-fallback vocabularies such as llama2.c's tok512, whose `<0x00>..<0xFF>` are ids 3..258).
 */
import {
  CompressedDataError,
  InvalidArgumentError,
  InvariantError,
  type Tokenizer,
} from '@decodekit/core';
import { crc32 } from './crc32.js';

/** What the codec needs to know about a model's vocabulary. */
export interface Alphabet {
  /** Rows of the model's logits. */
  readonly vocabSize: number;
  /** `vocabSize` plus the escape symbols. */
  readonly symbolCount: number;
  /** 1 where the token has bytes (it can occur in a coded stream). [vocabSize] */
  readonly codable: Uint8Array;
  readonly codableCount: number;
  /** Bytes of every symbol (escapes: their byte); undefined for tokens without bytes. [symbolCount] */
  readonly symbolBytes: readonly (Uint8Array | undefined)[];
  /** The symbol that codes a lone raw byte: its byte-fallback token, a single-byte token, or an escape. [256] */
  readonly byteSymbol: Int32Array;
  /** True when `encode` prepends a space to the text (SentencePiece's dummy prefix), as probed on "a". */
  readonly dummyPrefix: boolean;
  /** CRC-32 of the byte table and the dummy-prefix flag: two tokenizers with the same hash code the same. */
  readonly hash: number;
}

const byteFallbackPattern = /^<0x([0-9A-Fa-f]{2})>$/;

/** Builds the alphabet of a model with `vocabSize` logits rows and its tokenizer. */
export function buildAlphabet(tokenizer: Tokenizer, vocabSize: number): Alphabet {
  const codable = new Uint8Array(vocabSize);
  const symbolBytes: (Uint8Array | undefined)[] = [];
  const byteSymbol = new Int32Array(256).fill(-1);
  const singleByte = new Int32Array(256).fill(-1);
  let codableCount = 0;
  const hashParts: number[] = [];
  for (let token = 0; token < vocabSize; token++) {
    const bytes = token < tokenizer.vocabSize ? tokenizer.tokenBytes(token) : undefined;
    if (bytes && bytes.length > 0) {
      codable[token] = 1;
      codableCount++;
      symbolBytes.push(bytes);
      if (bytes.length === 1) {
        const fallback = byteFallbackPattern.exec(tokenizer.idToToken(token) ?? '');
        if (fallback && Number.parseInt(fallback[1], 16) === bytes[0]) byteSymbol[bytes[0]] = token;
        else if (singleByte[bytes[0]] < 0) singleByte[bytes[0]] = token;
      }
      hashParts.push(bytes.length + 1, ...bytes);
    } else {
      symbolBytes.push(undefined);
      hashParts.push(0);
    }
  }
  if (codableCount === 0) {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message:
        'no token of the model has bytes (tokenBytes), so nothing can be coded. Pass the tokenizer that belongs to the model.',
    });
  }
  let symbolCount = vocabSize;
  for (let byte = 0; byte < 256; byte++) {
    if (byteSymbol[byte] >= 0) continue;
    if (singleByte[byte] >= 0) {
      byteSymbol[byte] = singleByte[byte];
      continue;
    }
    byteSymbol[byte] = symbolCount++;
    symbolBytes.push(Uint8Array.of(byte));
  }
  const probe = concatBytes(
    tokenizer
      .encode('a', { addSpecialTokens: false })
      .map(token => symbolBytes[token] ?? new Uint8Array()),
  );
  const dummyPrefix = probe.length === 2 && probe[0] === 0x20 && probe[1] === 0x61;
  hashParts.push(dummyPrefix ? 1 : 0);
  return {
    vocabSize,
    symbolCount,
    codable,
    codableCount,
    symbolBytes,
    byteSymbol,
    dummyPrefix,
    hash: crc32(hashParts),
  };
}

/** Symbols of a block of bytes, plus the offsets (in the symbols' byte stream) of spaces to delete. */
export interface SymbolizedBlock {
  readonly symbols: number[];
  /** Offsets, in the concatenated symbol bytes, of the dummy-prefix spaces the decoder deletes. */
  readonly strips: number[];
}

const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Maps arbitrary bytes to symbols whose bytes, concatenated with the `strips` spaces removed, are exactly
 * `bytes`. Valid UTF-8 runs go through the tokenizer (so the model sees the tokens it was trained on); the
 * result is checked against the input, and any part the tokenizer does not reproduce (special-token strings,
 * normalization, unknown tokens) is coded byte by byte. Invalid UTF-8 is coded byte by byte.
 */
export function bytesToSymbols(
  bytes: Uint8Array,
  alphabet: Alphabet,
  tokenizer: Tokenizer,
): SymbolizedBlock {
  const symbols: number[] = [];
  const strips: number[] = [];
  let produced = 0;
  for (const [start, end, valid] of utf8Runs(bytes)) {
    const run = bytes.subarray(start, end);
    if (!valid) {
      for (const byte of run) symbols.push(alphabet.byteSymbol[byte]);
      produced += run.length;
      continue;
    }
    const ids = tokenizer.encode(textDecoder.decode(run), { addSpecialTokens: false });
    let target = run;
    if (alphabet.dummyPrefix) {
      target = new Uint8Array(run.length + 1);
      target[0] = 0x20;
      target.set(run, 1);
      strips.push(produced);
    }
    alignTokens(ids, target, alphabet, symbols);
    produced += target.length;
  }
  return { symbols, strips };
}

/** Bytes of a symbol sequence with the `strips` spaces removed; the inverse of {@link bytesToSymbols}. */
export function symbolsToBytes(
  symbols: ArrayLike<number>,
  strips: readonly number[],
  alphabet: Alphabet,
): Uint8Array {
  let length = 0;
  for (let i = 0; i < symbols.length; i++) length += alphabet.symbolBytes[symbols[i]]?.length ?? 0;
  const out = new Uint8Array(length - strips.length);
  let read = 0;
  let written = 0;
  let nextStrip = 0;
  for (let i = 0; i < symbols.length; i++) {
    const bytes = alphabet.symbolBytes[symbols[i]];
    if (!bytes) throw new CompressedDataError({ reason: `symbol ${symbols[i]} has no bytes` });
    for (const byte of bytes) {
      if (nextStrip < strips.length && strips[nextStrip] === read) {
        if (byte !== 0x20)
          throw new CompressedDataError({ reason: `byte ${read} should be a removable space` });
        nextStrip++;
      } else {
        out[written++] = byte;
      }
      read++;
    }
  }
  if (nextStrip !== strips.length || written !== out.length) {
    throw new CompressedDataError({
      reason: 'the space-removal offsets do not fit the decoded bytes',
    });
  }
  return out;
}

/**
 * Appends to `out` symbols whose bytes are exactly `target`: the tokenizer's `ids` where they match, raw bytes
 * where they do not, resynchronizing on the next few tokens that match again.
 */
function alignTokens(
  ids: readonly number[],
  target: Uint8Array,
  alphabet: Alphabet,
  out: number[],
): void {
  const { symbolBytes, byteSymbol, vocabSize } = alphabet;
  const bytesOf = (id: number) => (id >= 0 && id < vocabSize ? symbolBytes[id] : undefined);
  const emitRaw = (from: number, to: number) => {
    for (let i = from; i < to; i++) out.push(byteSymbol[target[i]]);
  };
  let position = 0;
  let index = 0;
  const start = out.length;
  while (index < ids.length) {
    const bytes = bytesOf(ids[index]);
    if (bytes && matchesAt(target, position, bytes)) {
      out.push(ids[index]);
      position += bytes.length;
      index++;
      continue;
    }
    // Mismatch: find the nearest later token run that matches the target again.
    let resumed = false;
    let span = 64;
    for (let next = index + 1; next < ids.length && next <= index + 16 && !resumed; next++) {
      span += bytesOf(ids[next - 1])?.length ?? 8;
      const anchor = anchorBytes(ids, next, bytesOf);
      if (!anchor) continue;
      const last = Math.min(target.length - anchor.length, position + span);
      for (let at = position; at <= last; at++) {
        if (matchesAt(target, at, anchor)) {
          emitRaw(position, at);
          position = at;
          index = next;
          resumed = true;
          break;
        }
      }
    }
    if (!resumed) {
      emitRaw(position, target.length);
      position = target.length;
      index = ids.length;
    }
  }
  emitRaw(position, target.length);
  let length = 0;
  for (let i = start; i < out.length; i++) length += symbolBytes[out[i]]?.length ?? 0;
  if (length !== target.length)
    throw new InvariantError({ message: `aligned ${length} bytes for a run of ${target.length}` });
}

/** The bytes of up to three tokens from `from` on, or undefined when one of them has none. */
function anchorBytes(
  ids: readonly number[],
  from: number,
  bytesOf: (id: number) => Uint8Array | undefined,
): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  for (let i = from; i < Math.min(ids.length, from + 3); i++) {
    const bytes = bytesOf(ids[i]);
    if (!bytes) return undefined;
    parts.push(bytes);
  }
  return concatBytes(parts);
}

function matchesAt(target: Uint8Array, position: number, bytes: Uint8Array): boolean {
  if (position + bytes.length > target.length) return false;
  for (let i = 0; i < bytes.length; i++) if (target[position + i] !== bytes[i]) return false;
  return true;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Maximal runs of well-formed UTF-8 (Unicode Table 3-7: no overlongs, surrogates or code points past
 * U+10FFFF) and of bytes outside it, as `[start, end, valid]`.
 */
export function utf8Runs(bytes: Uint8Array): [number, number, boolean][] {
  const runs: [number, number, boolean][] = [];
  let runStart = 0;
  let runValid = true;
  let i = 0;
  const push = (valid: boolean, length: number) => {
    if (valid !== runValid) {
      if (i > runStart) runs.push([runStart, i, runValid]);
      runStart = i;
      runValid = valid;
    }
    i += length;
  };
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0) push(true, length);
    else push(false, 1);
  }
  if (i > runStart) runs.push([runStart, i, runValid]);
  return runs;
}

/** Length of the well-formed UTF-8 sequence at `i`, or 0 when the byte there does not start one. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const first = bytes[i];
  if (first < 0x80) return 1;
  const continuation = (offset: number, low = 0x80, high = 0xbf) =>
    i + offset < bytes.length && bytes[i + offset] >= low && bytes[i + offset] <= high;
  if (first >= 0xc2 && first <= 0xdf) return continuation(1) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const low = first === 0xe0 ? 0xa0 : 0x80;
    const high = first === 0xed ? 0x9f : 0xbf;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const low = first === 0xf0 ? 0x90 : 0x80;
    const high = first === 0xf4 ? 0x8f : 0xbf;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}
