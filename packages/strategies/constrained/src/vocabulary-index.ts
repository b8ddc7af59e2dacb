import type { Tokenizer } from '@decodekit/core';
import { byteSet, type ByteSet } from './grammar-ir.js';

/**
 * The tokenizer's vocabulary as a trie over token bytes, flattened into arrays. Special tokens (no bytes)
 * and empty tokens are left out: they can never appear inside a constrained structure.
 */
export interface VocabularyIndex {
  readonly vocabSize: number;
  /** Bytes of each token, undefined for special tokens. */
  readonly tokenBytes: readonly (Uint8Array | undefined)[];
  /** Children of trie node n are edges childStart[n] .. childStart[n + 1] - 1. [nodes + 1] */
  readonly childStart: Int32Array;
  /** Byte of each edge. [edges] */
  readonly edgeByte: Uint8Array;
  /** Child node of each edge. [edges] */
  readonly edgeNode: Int32Array;
  /** Tokens ending at node n are tokenList[tokenStart[n] .. tokenStart[n + 1] - 1]. [nodes + 1] */
  readonly tokenStart: Int32Array;
  readonly tokenList: Int32Array;
  /** Bytes that some single-byte token spells. */
  readonly singleBytes: ByteSet;
  /** Number of trie nodes (the root included). */
  readonly nodes: number;
}

const indexes = new WeakMap<Tokenizer, VocabularyIndex>();

/** The vocabulary index of a tokenizer, built once per tokenizer object. */
export function vocabularyIndex(tokenizer: Tokenizer): VocabularyIndex {
  let index = indexes.get(tokenizer);
  if (!index) {
    index = buildVocabularyIndex(tokenizer);
    indexes.set(tokenizer, index);
  }
  return index;
}

function buildVocabularyIndex(tokenizer: Tokenizer): VocabularyIndex {
  const vocabSize = tokenizer.vocabSize;
  const tokenBytes: (Uint8Array | undefined)[] = [];
  const children: Map<number, number>[] = [new Map()];
  const tokensAt: number[][] = [[]];
  const singles: [number, number][] = [];
  for (let id = 0; id < vocabSize; id++) {
    const bytes = tokenizer.tokenBytes(id);
    tokenBytes.push(bytes && bytes.length > 0 ? bytes : undefined);
    if (!bytes || bytes.length === 0) continue;
    if (bytes.length === 1) singles.push([bytes[0], bytes[0]]);
    let node = 0;
    for (const byte of bytes) {
      let next = children[node].get(byte);
      if (next === undefined) {
        next = children.length;
        children.push(new Map());
        tokensAt.push([]);
        children[node].set(byte, next);
      }
      node = next;
    }
    tokensAt[node].push(id);
  }
  const nodes = children.length;
  const childStart = new Int32Array(nodes + 1);
  const tokenStart = new Int32Array(nodes + 1);
  let edges = 0;
  let tokens = 0;
  for (let n = 0; n < nodes; n++) {
    childStart[n] = edges;
    tokenStart[n] = tokens;
    edges += children[n].size;
    tokens += tokensAt[n].length;
  }
  childStart[nodes] = edges;
  tokenStart[nodes] = tokens;
  const edgeByte = new Uint8Array(edges);
  const edgeNode = new Int32Array(edges);
  const tokenList = new Int32Array(tokens);
  for (let n = 0; n < nodes; n++) {
    let e = childStart[n];
    for (const [byte, child] of [...children[n]].sort((a, b) => a[0] - b[0])) {
      edgeByte[e] = byte;
      edgeNode[e] = child;
      e += 1;
    }
    tokenList.set(tokensAt[n], tokenStart[n]);
  }
  return {
    vocabSize,
    tokenBytes,
    childStart,
    edgeByte,
    edgeNode,
    tokenStart,
    tokenList,
    singleBytes: byteSet(...singles),
    nodes,
  };
}
