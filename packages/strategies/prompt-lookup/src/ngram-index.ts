/**
 * An incremental index of the n-grams of a growing token sequence, for prompt lookup.
 *
 * For every size n in [minSize, maxSize] it keeps LZ77-style hash chains: `head(hash)` is the newest
 * *continuation position* p whose preceding n tokens `tokens[p - n .. p - 1]` hash to `hash`, and
 * `previous[n][p]` links to the next older one. A position is registered when the token at p arrives, so
 * every entry has at least one continuation token. Appending a token costs O(maxSize) and truncating one
 * costs the same, so the index follows the context as it grows (and rolls back on a new prompt) without
 * rescanning it. Hash collisions are resolved by comparing the tokens themselves.
 */
export class NgramIndex {
  readonly minSize: number;
  readonly maxSize: number;
  /** Indexed tokens. [capacity] */
  private tokens: Int32Array;
  private size = 0;
  /** Per n (index n - minSize): newest continuation position per hash. */
  private readonly heads: Map<number, number>[];
  /** Per n: earliest continuation position per hash (its chain's tail). */
  private readonly firsts: Map<number, number>[];
  /** Per n: the next older continuation position with the same hash, or -1. [capacity] */
  private readonly previous: Int32Array[];
  /** Per n: the hash registered at each continuation position. [capacity] */
  private readonly hashes: Int32Array[];

  constructor(minSize: number, maxSize: number, initialCapacity = 1024) {
    this.minSize = minSize;
    this.maxSize = maxSize;
    const sizes = maxSize - minSize + 1;
    this.tokens = new Int32Array(initialCapacity);
    this.heads = Array.from({ length: sizes }, () => new Map<number, number>());
    this.firsts = Array.from({ length: sizes }, () => new Map<number, number>());
    this.previous = Array.from({ length: sizes }, () => new Int32Array(initialCapacity));
    this.hashes = Array.from({ length: sizes }, () => new Int32Array(initialCapacity));
  }

  /** Number of indexed tokens. */
  get length(): number {
    return this.size;
  }

  /** The indexed token at `position`. */
  tokenAt(position: number): number {
    return this.tokens[position];
  }

  /** Forgets everything. */
  clear(): void {
    this.size = 0;
    for (const map of this.heads) map.clear();
    for (const map of this.firsts) map.clear();
  }

  /**
   * Brings the index to `context`: appends the new tokens when `context` extends the indexed sequence,
   * otherwise rolls back to the common prefix first. The extension check looks at the length and the
   * last `maxSize + 1` indexed tokens only (callers `clear()` when a new generation starts), so a step
   * costs O(new tokens × maxSize).
   */
  sync(context: readonly number[]): void {
    if (!this.extendsIndexed(context)) {
      let common = 0;
      const limit = Math.min(this.size, context.length);
      while (common < limit && this.tokens[common] === context[common]) common++;
      this.truncate(common);
    }
    for (let position = this.size; position < context.length; position++)
      this.push(context[position]);
  }

  /** Appends one token and registers the n-grams that end just before it. */
  push(token: number): void {
    const position = this.size;
    if (position === this.tokens.length) this.grow();
    this.tokens[position] = token;
    this.size = position + 1;
    for (let n = this.minSize; n <= this.maxSize && n <= position; n++) {
      const slot = n - this.minSize;
      const hash = this.hashOf(position - n, n);
      const head = this.heads[slot].get(hash);
      this.previous[slot][position] = head ?? -1;
      this.hashes[slot][position] = hash;
      this.heads[slot].set(hash, position);
      if (head === undefined) this.firsts[slot].set(hash, position);
    }
  }

  /** Drops indexed tokens beyond `length`, unregistering their n-grams (newest first). */
  truncate(length: number): void {
    for (let position = this.size - 1; position >= length; position--) {
      for (let n = this.minSize; n <= this.maxSize && n <= position; n++) {
        const slot = n - this.minSize;
        const hash = this.hashes[slot][position];
        const older = this.previous[slot][position];
        if (older < 0) {
          this.heads[slot].delete(hash);
          this.firsts[slot].delete(hash);
        } else {
          this.heads[slot].set(hash, older);
        }
      }
    }
    this.size = Math.min(this.size, length);
  }

  /**
   * The continuation position of an earlier occurrence of the last `n` indexed tokens: the newest one
   * (`'latest'`) or the oldest one (`'earliest'`, Hugging Face's choice), skipping `exclude`d positions.
   * Returns -1 when the suffix occurs nowhere else.
   */
  find(n: number, prefer: 'latest' | 'earliest', exclude?: ReadonlySet<number>): number {
    if (n < this.minSize || n > this.maxSize || n >= this.size) return -1;
    const slot = n - this.minSize;
    const start = this.size - n;
    const hash = this.hashOf(start, n);
    if (prefer === 'earliest') {
      const first = this.firsts[slot].get(hash);
      if (first !== undefined && !exclude?.has(first) && this.matches(first - n, start, n))
        return first;
      // Collision or excluded: walk the whole chain and keep the oldest real match.
      let found = -1;
      for (
        let position = this.heads[slot].get(hash) ?? -1;
        position >= 0;
        position = this.previous[slot][position]
      ) {
        if (!exclude?.has(position) && this.matches(position - n, start, n)) found = position;
      }
      return found;
    }
    for (
      let position = this.heads[slot].get(hash) ?? -1;
      position >= 0;
      position = this.previous[slot][position]
    ) {
      if (!exclude?.has(position) && this.matches(position - n, start, n)) return position;
    }
    return -1;
  }

  /**
   * Copies up to `count` tokens that followed continuation position `position` into `out` (from
   * `offset`). A continuation that reaches the end of the index keeps copying from what it has already
   * copied, as an LZ77 overlapping copy does, so a loop of period P drafts `count` tokens, not P.
   * Returns the number of tokens written.
   */
  continuation(position: number, count: number, out: Int32Array, offset = 0): number {
    const written = Math.min(count, out.length - offset);
    for (let i = 0; i < written; i++) {
      const source = position + i;
      out[offset + i] = source < this.size ? this.tokens[source] : out[offset + source - this.size];
    }
    return written;
  }

  /**
   * True when `context` starts with every indexed token. The whole prefix is compared: a context that differs
   * only before the last n-gram window (an edited prompt) must not reuse entries built from the old tokens.
   */
  private extendsIndexed(context: readonly number[]): boolean {
    if (context.length < this.size) return false;
    for (let position = 0; position < this.size; position++) {
      if (this.tokens[position] !== context[position]) return false;
    }
    return true;
  }

  private matches(a: number, b: number, n: number): boolean {
    for (let i = 0; i < n; i++) if (this.tokens[a + i] !== this.tokens[b + i]) return false;
    return true;
  }

  /** 32-bit FNV-style hash of `tokens[start .. start + n - 1]`. */
  private hashOf(start: number, n: number): number {
    let hash = 0x811c9dc5 ^ n;
    for (let i = 0; i < n; i++) {
      hash = Math.imul(hash ^ this.tokens[start + i], 0x01000193);
      hash ^= hash >>> 15;
    }
    return hash | 0;
  }

  private grow(): void {
    const capacity = this.tokens.length * 2;
    const tokens = new Int32Array(capacity);
    tokens.set(this.tokens);
    this.tokens = tokens;
    for (let slot = 0; slot < this.previous.length; slot++) {
      const previous = new Int32Array(capacity);
      previous.set(this.previous[slot]);
      this.previous[slot] = previous;
      const hashes = new Int32Array(capacity);
      hashes.set(this.hashes[slot]);
      this.hashes[slot] = hashes;
    }
  }
}
