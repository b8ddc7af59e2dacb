/** Multiplier of the polynomial rolling hash (odd, so it is invertible mod 2^32). */
const BASE = 0x01000193;

/**
 * An incremental index of the γ-grams of a token history (CopySpec's `copy_dict`), made of segments: the
 * current generation's context is the last segment, earlier conversations kept for the session are the
 * ones before it. A γ-gram is registered once a token follows it inside its segment, so every entry has a
 * continuation to copy; γ-grams never span two segments.
 *
 * Hashes are a polynomial rolling hash (`h = Σ token_i · B^(γ-1-i) mod 2^32`), updated in O(1) per token;
 * collisions are resolved by comparing the tokens.
 */
export class CopyIndex {
  readonly gamma: number;
  /** Every indexed token, segment after segment. [capacity] */
  private tokens: Int32Array;
  private size = 0;
  /** Start of the current (last) segment. */
  private segmentStart = 0;
  /** Hash → start positions of its γ-grams, oldest first. */
  private readonly positions = new Map<number, number[]>();
  /** B^(γ-1), to drop the oldest token from the rolling hash. */
  private readonly topPower: number;
  /** Ends of the closed segments, ascending. */
  private readonly boundaries: number[] = [];
  /** Rolling hash of the last γ tokens of the current segment (valid when it has ≥ γ tokens). */
  private rolling = 0;

  constructor(gamma: number, initialCapacity = 1024) {
    this.gamma = gamma;
    this.tokens = new Int32Array(initialCapacity);
    let power = 1;
    for (let i = 1; i < gamma; i++) power = Math.imul(power, BASE);
    this.topPower = power;
  }

  /** Tokens indexed, all segments together. */
  get length(): number {
    return this.size;
  }

  /** Tokens of the current segment. */
  get segmentLength(): number {
    return this.size - this.segmentStart;
  }

  /** The indexed token at an absolute position. */
  tokenAt(position: number): number {
    return this.tokens[position];
  }

  /** Forgets every segment. */
  clear(): void {
    this.size = 0;
    this.segmentStart = 0;
    this.rolling = 0;
    this.positions.clear();
    this.boundaries.length = 0;
  }

  /** True when the current segment equals the first `segmentLength` tokens of `context`. */
  segmentIsPrefixOf(context: readonly number[]): boolean {
    const length = this.segmentLength;
    if (context.length < length) return false;
    for (let i = 0; i < length; i++)
      if (this.tokens[this.segmentStart + i] !== context[i]) return false;
    return true;
  }

  /**
   * Brings the current segment to `context`: appends what is new when `context` extends it, otherwise
   * drops the current segment and indexes `context` from scratch.
   */
  sync(context: readonly number[]): void {
    if (!this.isExtendedBy(context)) this.dropSegment();
    for (let i = this.segmentLength; i < context.length; i++) this.push(context[i]);
  }

  /**
   * Cheap extension check: the first token and the last γ + 1 tokens of the segment agree with
   * `context` (a drafter's context only grows within a generation; `begin` handles new prompts).
   */
  private isExtendedBy(context: readonly number[]): boolean {
    const length = this.segmentLength;
    if (context.length < length) return false;
    if (length === 0) return true;
    if (context[0] !== this.tokens[this.segmentStart]) return false;
    for (let i = Math.max(0, length - this.gamma - 1); i < length; i++) {
      if (context[i] !== this.tokens[this.segmentStart + i]) return false;
    }
    return true;
  }

  /** Appends one token to the current segment and registers the γ-gram it follows. */
  push(token: number): void {
    const { gamma } = this;
    // The γ-gram ending just before this token now has a continuation: register it.
    if (this.segmentLength >= gamma) this.register(this.size - gamma, this.rolling);
    if (this.size === this.tokens.length) this.grow();
    this.tokens[this.size++] = token;
    const length = this.segmentLength;
    if (length > gamma) {
      const oldest = this.tokens[this.size - 1 - gamma];
      this.rolling = (Math.imul(this.rolling - Math.imul(oldest, this.topPower), BASE) + token) | 0;
    } else {
      this.rolling = (Math.imul(this.rolling, BASE) + token) | 0;
    }
  }

  /**
   * Absolute start positions of earlier occurrences of the current segment's last γ tokens, oldest first
   * (hash matches only: check them with `matchesSuffix`). Empty when the segment is shorter than γ.
   */
  candidates(): readonly number[] {
    if (this.segmentLength < this.gamma) return EMPTY;
    return this.positions.get(this.rolling) ?? EMPTY;
  }

  /** True when the γ-gram at `start` equals the current segment's last γ tokens. */
  matchesSuffix(start: number): boolean {
    const suffix = this.size - this.gamma;
    for (let i = 0; i < this.gamma; i++)
      if (this.tokens[start + i] !== this.tokens[suffix + i]) return false;
    return true;
  }

  /**
   * Copies up to `count` tokens that followed the γ-gram at `start` into `out`, stopping at the end of
   * that γ-gram's segment. Returns the number copied.
   */
  copy(start: number, count: number, out: number[]): number {
    const from = start + this.gamma;
    const end = Math.min(from + count, this.segmentEndOf(start));
    for (let position = from; position < end; position++) out.push(this.tokens[position]);
    return Math.max(0, end - from);
  }

  /** Hash of `tokens[start .. start + γ - 1]` computed from scratch (for tests). */
  hashAt(start: number): number {
    let hash = 0;
    for (let i = 0; i < this.gamma; i++)
      hash = (Math.imul(hash, BASE) + this.tokens[start + i]) | 0;
    return hash;
  }

  /** The rolling hash of the current suffix (for tests). */
  get suffixHash(): number {
    return this.rolling;
  }

  private segmentEndOf(start: number): number {
    return start >= this.segmentStart ? this.size : this.archivedEnd(start);
  }

  /** End of the archived segment holding `start`: segments are recorded as boundaries. */
  private archivedEnd(start: number): number {
    for (const boundary of this.boundaries) if (boundary > start) return boundary;
    return this.segmentStart;
  }

  private register(start: number, hash: number): void {
    const list = this.positions.get(hash);
    if (list) list.push(start);
    else this.positions.set(hash, [start]);
  }

  /** Removes the current segment's tokens and their entries (positions are appended in order). */
  private dropSegment(): void {
    const from = this.segmentStart;
    for (const [hash, list] of this.positions) {
      let keep = list.length;
      while (keep > 0 && list[keep - 1] >= from) keep--;
      if (keep === 0) this.positions.delete(hash);
      else list.length = keep;
    }
    this.size = from;
    this.rolling = 0;
  }

  private grow(): void {
    const tokens = new Int32Array(this.tokens.length * 2);
    tokens.set(this.tokens);
    this.tokens = tokens;
  }

  /** Closes the current segment: later tokens start a new one, earlier ones stay searchable. */
  closeSegment(): void {
    if (this.segmentLength > 0) this.boundaries.push(this.size);
    this.segmentStart = this.size;
    this.rolling = 0;
  }
}

const EMPTY: readonly number[] = [];
