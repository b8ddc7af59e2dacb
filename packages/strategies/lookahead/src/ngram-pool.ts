/**
 * Lookahead decoding's n-gram pool (`token_map` in the official code): key token → up to `capacity`
 * continuations of n - 1 tokens, least recently used first; adding one that is already there moves it to
 * the back, adding one to a full list drops the front (the official LRU policy).
 */
export class NgramPool {
  private readonly map = new Map<number, number[][]>();

  constructor(
    /** Tokens after the key (n - 1). */
    readonly continuationLength: number,
    /** Continuations kept per key (G, `GUESS_SET_SIZE`). */
    readonly capacity: number,
  ) {}

  /** Number of keys. */
  get size(): number {
    return this.map.size;
  }

  /** Continuations of `key`, least recently used first (do not mutate). */
  get(key: number): readonly (readonly number[])[] {
    return this.map.get(key) ?? EMPTY;
  }

  /** Adds (or refreshes) `continuation` under `key`. */
  add(key: number, continuation: readonly number[]): void {
    if (this.capacity === 0 || continuation.length !== this.continuationLength) return;
    let list = this.map.get(key);
    if (!list) {
      list = [];
      this.map.set(key, list);
    }
    const existing = list.findIndex(entry => sameTokens(entry, continuation));
    if (existing >= 0) list.splice(existing, 1);
    else if (list.length >= this.capacity) list.shift();
    list.push(continuation.slice());
  }

  /** Adds every n-gram of `tokens` (the official `fill_pool_with_prompt`). */
  addAll(tokens: readonly number[]): void {
    const n = this.continuationLength + 1;
    for (let start = 0; start + n <= tokens.length; start++) {
      this.add(tokens[start], tokens.slice(start + 1, start + n));
    }
  }

  clear(): void {
    this.map.clear();
  }
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const EMPTY: readonly (readonly number[])[] = [];
