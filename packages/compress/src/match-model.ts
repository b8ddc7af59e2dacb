/**
 * A token-level match model (the "match model" of PAQ/lpaq-style compressors): it finds the most recent
 * earlier occurrence of the last {@link MIN_MATCH} tokens and predicts the token that followed it, with a
 * confidence learned from how often matches of each length were right. Mixed into the LM's table, it
 * captures exact repetition (markup, keys, repeated paragraphs) that a small LM with a short context misses.
 * Integer-only, so encoder and decoder stay in lockstep.
 */

/** Tokens that must repeat before a match is followed. */
export const MIN_MATCH = 3;
const HASH_BITS = 16;
/** Tokens of history kept (bounded memory); on overflow the older half is dropped. */
const HISTORY = 1 << 16;
const MAX_BUCKET = 32;
/** Counts are halved past this many trials, so the confidence follows the data. */
const MAX_TRIALS = 255;

export class MatchModel {
  private history = new Int32Array(HISTORY);
  private length = 0;
  private table = new Int32Array(1 << HASH_BITS).fill(-1);
  /** Index in `history` of the predicted token, or -1. */
  private pointer = -1;
  private matchLength = 0;
  private readonly hits = new Uint32Array(MAX_BUCKET + 1);
  private readonly trials = new Uint32Array(MAX_BUCKET + 1);

  /** The predicted next token and the probability that it is right, or undefined without a match. */
  prediction(): { token: number; probability: number } | undefined {
    if (this.pointer < 0) return undefined;
    const bucket = Math.min(this.matchLength, MAX_BUCKET);
    return {
      token: this.history[this.pointer],
      // A prior of 1 hit in 4 trials: a new kind of match starts cautious.
      probability: (this.hits[bucket] + 1) / (this.trials[bucket] + 4),
    };
  }

  /** Records the coded token: scores the prediction, extends or drops the match, indexes the context. */
  update(token: number): void {
    if (this.pointer >= 0) {
      const bucket = Math.min(this.matchLength, MAX_BUCKET);
      this.trials[bucket]++;
      if (this.history[this.pointer] === token) this.hits[bucket]++;
      if (this.trials[bucket] > MAX_TRIALS) {
        this.trials[bucket] >>>= 1;
        this.hits[bucket] >>>= 1;
      }
      if (this.history[this.pointer] === token) {
        this.pointer++;
        this.matchLength++;
      } else {
        this.pointer = -1;
        this.matchLength = 0;
      }
    }
    if (this.length === HISTORY) this.dropOlderHalf();
    this.history[this.length++] = token;
    if (this.length < MIN_MATCH) return;
    const hash = this.hashAt(this.length);
    if (this.pointer < 0) {
      const candidate = this.table[hash];
      if (candidate >= 0 && this.sameContext(candidate, this.length)) {
        this.pointer = candidate;
        this.matchLength = MIN_MATCH;
      }
    }
    this.table[hash] = this.length;
  }

  reset(): void {
    this.length = 0;
    this.table.fill(-1);
    this.pointer = -1;
    this.matchLength = 0;
    this.hits.fill(0);
    this.trials.fill(0);
  }

  /** Hash of the MIN_MATCH tokens before `end`. */
  private hashAt(end: number): number {
    let hash = 0x9e3779b9;
    for (let i = end - MIN_MATCH; i < end; i++) {
      hash = Math.imul(hash ^ this.history[i], 0x85ebca6b);
      hash ^= hash >>> 15;
    }
    return hash >>> (32 - HASH_BITS);
  }

  private sameContext(a: number, b: number): boolean {
    if (a < MIN_MATCH || a >= b) return false;
    for (let i = 1; i <= MIN_MATCH; i++)
      if (this.history[a - i] !== this.history[b - i]) return false;
    return true;
  }

  private dropOlderHalf(): void {
    const half = HISTORY >> 1;
    this.history.copyWithin(0, half);
    this.length -= half;
    this.pointer = this.pointer >= half ? this.pointer - half : -1;
    if (this.pointer < 0) this.matchLength = 0;
    this.table.fill(-1);
    for (let end = MIN_MATCH; end <= this.length; end++) this.table[this.hashAt(end)] = end;
  }
}

/**
 * Mixes a match prediction into a frequency table of total `total` [symbols]: the predicted token's frequency
 * is raised to at least `floor(probability · total)`, every other nonzero frequency is scaled down (never
 * below 1) so the total stays the same. Integer arithmetic only.
 */
export function mixPrediction(
  frequencies: Uint32Array,
  total: number,
  token: number,
  probability: number,
): void {
  const current = frequencies[token];
  if (current === 0) return; // a token without bytes cannot be predicted (it never occurs)
  const target = Math.floor(probability * total);
  if (target <= current) return;
  const othersBefore = total - current;
  const othersAfter = total - target;
  let othersSum = 0;
  for (let symbol = 0; symbol < frequencies.length; symbol++) {
    if (symbol === token || frequencies[symbol] === 0) continue;
    // frequencies[symbol] · othersAfter ≤ 2^24 · 2^24: exact.
    const scaled = Math.max(1, Math.floor((frequencies[symbol] * othersAfter) / othersBefore));
    frequencies[symbol] = scaled;
    othersSum += scaled;
  }
  frequencies[token] = total - othersSum;
}
