/**
 * @internal A persistent (immutable) list of tokens, newest first. Appending is O(1) and shares the
 * whole older list, so a processor state that holds one can be forked by trees and beams for free.
 */
export interface TokenHistory {
  /** The newest token. */
  readonly token: number;
  /** The tokens before it, or null. */
  readonly previous: TokenHistory | null;
  /** Number of tokens in this list. */
  readonly length: number;
}

/** @internal Returns a new list with `token` appended after `history`. */
export function appendToken(history: TokenHistory | null, token: number): TokenHistory {
  return { token, previous: history, length: (history?.length ?? 0) + 1 };
}

/** @internal Builds a list from tokens in order (oldest first). */
export function historyFrom(tokens: readonly number[]): TokenHistory | null {
  let history: TokenHistory | null = null;
  for (const token of tokens) history = appendToken(history, token);
  return history;
}

/**
 * @internal Marks token ids as seen within one `process` call, in O(1) per id, so a processor can
 * visit each distinct token of a history once. Owned by one processor instance; `process` is
 * synchronous, so it is never shared between two calls in flight.
 */
export class SeenMarks {
  private stamps = new Uint32Array(0);
  private epoch = 0;

  /** Starts a new round over a vocabulary of `size` ids; nothing is marked. */
  begin(size: number): void {
    if (this.stamps.length < size) this.stamps = new Uint32Array(size);
    this.epoch++;
    if (this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
  }

  /** Marks `id`; true when it was not marked yet in this round. */
  mark(id: number): boolean {
    if (this.stamps[id] === this.epoch) return false;
    this.stamps[id] = this.epoch;
    return true;
  }
}
