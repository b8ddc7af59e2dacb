/**
 * @internal A persistent hash map from token sequences (n-gram prefixes) to the distinct tokens seen
 * after them: a hash array mapped trie (Bagwell, 2001) with path copying. `insert` returns a new root
 * and shares every untouched node with the old one, so forking a state that holds a root is free and an
 * insert costs O(log32 entries).
 */
export type NgramMap = NgramNode | undefined;

type NgramNode = Branch | Leaf;

interface Branch {
  readonly kind: 'branch';
  /** 32 slots indexed by 5 bits of the hash. */
  readonly children: readonly (NgramNode | undefined)[];
}

interface Leaf {
  readonly kind: 'leaf';
  readonly hash: number;
  /** Entries whose keys share `hash` (one, except on a 32-bit collision). */
  readonly entries: readonly LeafEntry[];
}

interface LeafEntry {
  /** The key, newest token first. */
  readonly key: readonly number[];
  /** Distinct tokens that followed the key. */
  readonly next: readonly number[];
}

const BITS = 5;
const MASK = (1 << BITS) - 1;
const EMPTY_CHILDREN: readonly undefined[] = Array.from({ length: 1 << BITS }, () => undefined);

/** FNV-1a over the key followed by murmur3's finaliser, as an unsigned 32-bit hash. */
export function hashKey(key: readonly number[]): number {
  let hash = 0x811c9dc5;
  for (const token of key) {
    hash = Math.imul(hash ^ (token & 0xffff), 0x01000193);
    hash = Math.imul(hash ^ (token >>> 16), 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function sameKey(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Tokens recorded after `key`, or undefined. */
export function lookupNext(
  map: NgramMap,
  key: readonly number[],
  hash = hashKey(key),
): readonly number[] | undefined {
  let node = map;
  let shift = 0;
  while (node !== undefined) {
    if (node.kind === 'leaf') {
      if (node.hash !== hash) return undefined;
      for (const entry of node.entries) if (sameKey(entry.key, key)) return entry.next;
      return undefined;
    }
    node = node.children[(hash >>> shift) & MASK];
    shift += BITS;
  }
  return undefined;
}

/** A map that also records `token` after `key`; returns `map` itself when it already did. */
export function insertNext(
  map: NgramMap,
  key: readonly number[],
  token: number,
  hash = hashKey(key),
): NgramMap {
  return insertAt(map, 0, key, hash, token);
}

function insertAt(
  node: NgramMap,
  shift: number,
  key: readonly number[],
  hash: number,
  token: number,
): NgramNode {
  if (node === undefined)
    return { kind: 'leaf', hash, entries: [{ key: [...key], next: [token] }] };
  if (node.kind === 'branch') {
    const index = (hash >>> shift) & MASK;
    const child = node.children[index];
    const updated = insertAt(child, shift + BITS, key, hash, token);
    if (updated === child) return node;
    const children = node.children.slice();
    children[index] = updated;
    return { kind: 'branch', children };
  }
  if (node.hash === hash) {
    const position = node.entries.findIndex(entry => sameKey(entry.key, key));
    if (position === -1) {
      return { kind: 'leaf', hash, entries: [...node.entries, { key: [...key], next: [token] }] };
    }
    const entry = node.entries[position];
    if (entry.next.includes(token)) return node;
    const entries = node.entries.slice();
    entries[position] = { key: entry.key, next: [...entry.next, token] };
    return { kind: 'leaf', hash, entries };
  }
  // Two different hashes meet: push the old leaf one level down and retry (they differ in some bit < 32).
  const children = EMPTY_CHILDREN.slice() as (NgramNode | undefined)[];
  children[(node.hash >>> shift) & MASK] = node;
  return insertAt({ kind: 'branch', children }, shift, key, hash, token);
}
