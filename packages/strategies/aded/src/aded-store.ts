import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';
import type { Tokenizer } from '@decodekit/core';

/** Successors of one bigram: next token → score (a probability after building; adaptation adds to it). */
export type Successors = Map<number, number>;

/**
 * ADED's tri-gram datastore: `(t_i, t_{i+1}) → { t_{i+2}: score }`. Built by counting tri-grams of a
 * corpus tokenized with the target's tokenizer and normalising each bigram's counts to probabilities (the
 * official `Writer.finalize`).
 */
export class AdedStore {
  /** Bigram key (see `bigramKey`) → successors. */
  readonly table: Map<number, Successors>;

  constructor(table: Map<number, Successors> = new Map()) {
    this.table = table;
  }

  /** Number of bigrams. */
  get bigrams(): number {
    return this.table.size;
  }

  /** Number of (bigram, successor) entries. */
  get trigrams(): number {
    let total = 0;
    for (const successors of this.table.values()) total += successors.size;
    return total;
  }

  /** Successors of `(first, second)`, or undefined. */
  successors(first: number, second: number): Successors | undefined {
    return this.table.get(bigramKey(first, second));
  }

  /** A deep copy (drafters adapt their copy, never the caller's store). */
  clone(): AdedStore {
    const table = new Map<number, Successors>();
    for (const [key, successors] of this.table) table.set(key, new Map(successors));
    return new AdedStore(table);
  }

  /** Keeps the `topK` highest-scoring successors of every bigram (the official Reader keeps 12). */
  prune(topK: number): this {
    for (const [key, successors] of this.table) {
      if (successors.size <= topK) continue;
      const kept = [...successors].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, topK);
      this.table.set(key, new Map(kept));
    }
    return this;
  }
}

/** Tokens must fit 20 bits so a bigram packs into one exact JavaScript number. */
const TOKEN_BITS = 1_048_576;

/** The map key of a bigram. */
export function bigramKey(first: number, second: number): number {
  return first * TOKEN_BITS + second;
}

/** Options of `buildAdedStore`. */
export interface BuildAdedStoreOptions {
  /** Documents; each is tokenized on its own (tri-grams never span two documents). */
  corpus: readonly string[];
  /** The target model's tokenizer (the store is only useful with the vocabulary it was counted in). */
  tokenizer: Tokenizer;
  /** Prepend BOS the way prompts are encoded. Default true. */
  addSpecialTokens?: boolean;
}

/**
 * Builds an ADED datastore from text: tokenizes every document with the target's tokenizer, counts its
 * tri-grams and normalises each bigram's counts (the official `Writer.add_entry` + `finalize`).
 *
 * @example
 * const store = buildAdedStore({ corpus: stories, tokenizer: model.tokenizer });
 * await writeFile('stories.aded', serializeAdedStore(store));
 */
export function buildAdedStore({
  corpus,
  tokenizer,
  addSpecialTokens = true,
}: BuildAdedStoreOptions): AdedStore {
  if (!Array.isArray(corpus))
    throw new InvalidArgumentError({ argument: 'corpus', message: 'must be an array of strings.' });
  if (!tokenizer || typeof tokenizer.encode !== 'function') {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: 'must be a Tokenizer (e.g. model.tokenizer).',
    });
  }
  return buildAdedStoreFromTokens(corpus.map(text => tokenizer.encode(text, { addSpecialTokens })));
}

/** Builds an ADED datastore from already tokenized documents. */
export function buildAdedStoreFromTokens(documents: readonly (readonly number[])[]): AdedStore {
  const counts = new Map<number, Map<number, number>>();
  for (const tokens of documents) {
    for (let i = 0; i + 2 < tokens.length; i++) {
      for (const token of [tokens[i], tokens[i + 1], tokens[i + 2]]) {
        if (!Number.isInteger(token) || token < 0 || token >= TOKEN_BITS) {
          throw new InvalidArgumentError({
            argument: 'corpus',
            message: `token ${token} is outside [0, 2^20).`,
          });
        }
      }
      const key = bigramKey(tokens[i], tokens[i + 1]);
      let successors = counts.get(key);
      if (!successors) counts.set(key, (successors = new Map()));
      successors.set(tokens[i + 2], (successors.get(tokens[i + 2]) ?? 0) + 1);
    }
  }
  const table = new Map<number, Successors>();
  for (const [key, successors] of counts) {
    let total = 0;
    for (const count of successors.values()) total += count;
    const normalised: Successors = new Map();
    for (const [token, count] of successors) normalised.set(token, Math.fround(count / total));
    table.set(key, normalised);
  }
  return new AdedStore(table);
}

const MAGIC = 0x44454441; // "ADED" little-endian
const VERSION = 1;

/**
 * Serialises a store: "ADED", version, bigram count, then per bigram (first, second, successor count,
 * then (token, score) pairs); int32 / float32 little-endian. Bigrams are written in ascending key order,
 * successors by descending score, so the bytes are reproducible.
 */
export function serializeAdedStore(store: AdedStore): Uint8Array {
  const entries = [...store.table].sort(([a], [b]) => a - b);
  let size = 12;
  for (const [, table] of entries) size += 12 + 8 * table.size;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, entries.length, true);
  let offset = 12;
  for (const [key, table] of entries) {
    const successors = [...table].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    view.setInt32(offset, Math.floor(key / TOKEN_BITS), true);
    view.setInt32(offset + 4, key % TOKEN_BITS, true);
    view.setUint32(offset + 8, successors.length, true);
    offset += 12;
    for (const [token, score] of successors) {
      view.setInt32(offset, token, true);
      view.setFloat32(offset + 4, score, true);
      offset += 8;
    }
  }
  return bytes;
}

/** Reads a store written by `serializeAdedStore`; throws ModelFormatError on anything else. */
export function deserializeAdedStore(bytes: Uint8Array, path = 'ADED store'): AdedStore {
  const fail = (message: string): never => {
    throw new ModelFormatError({
      path,
      message: `${message} Rebuild it with \`decodekit aded build\` (buildAdedStore).`,
    });
  };
  if (bytes.byteLength < 12) fail('is too short to be an ADED store.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('does not start with the ADED magic bytes.');
  const version = view.getUint32(4, true);
  if (version !== VERSION)
    fail(`has format version ${version}; this package reads version ${VERSION}.`);
  const count = view.getUint32(8, true);
  const table = new Map<number, Successors>();
  let offset = 12;
  for (let i = 0; i < count; i++) {
    if (offset + 12 > bytes.byteLength) fail('is truncated.');
    const first = view.getInt32(offset, true);
    const second = view.getInt32(offset + 4, true);
    const successorCount = view.getUint32(offset + 8, true);
    offset += 12;
    if (offset + 8 * successorCount > bytes.byteLength) fail('is truncated.');
    const successors: Successors = new Map();
    for (let j = 0; j < successorCount; j++) {
      successors.set(view.getInt32(offset, true), view.getFloat32(offset + 4, true));
      offset += 8;
    }
    table.set(bigramKey(first, second), successors);
  }
  if (offset !== bytes.byteLength) fail('has trailing bytes.');
  return new AdedStore(table);
}
