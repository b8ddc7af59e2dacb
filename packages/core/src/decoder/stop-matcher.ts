/**
 * Tracks generated text for stop strings. Text that could still be the start of a stop string is held
 * back from the stream, so a stop string never reaches the user, even split across tokens.
 */
export class StopMatcher {
  private text = '';
  private emitted = 0;
  private readonly holdback: number;
  /** Index where a stop string starts, once one is found. */
  stoppedAt: number | undefined;

  constructor(private readonly stops: readonly string[]) {
    this.holdback = stops.reduce((longest, stop) => Math.max(longest, stop.length - 1), 0);
  }

  /** Adds a text delta; returns the text now safe to stream. */
  push(delta: string): string {
    if (this.stoppedAt !== undefined || delta.length === 0) return '';
    const searchFrom = Math.max(0, this.text.length - this.holdback);
    this.text += delta;
    if (this.stops.length > 0) {
      let first = -1;
      for (const stop of this.stops) {
        const index = this.text.indexOf(stop, searchFrom);
        if (index !== -1 && (first === -1 || index < first)) first = index;
      }
      if (first !== -1) {
        this.stoppedAt = first;
        return this.release(first);
      }
    }
    let cut = this.text.length - this.holdback;
    // Never split a surrogate pair between two deltas.
    const code = this.text.charCodeAt(cut - 1);
    if (cut < this.text.length && code >= 0xd800 && code <= 0xdbff) cut -= 1;
    return this.release(cut);
  }

  /** Releases everything held back (end of generation). */
  flush(): string {
    return this.release(this.stoppedAt ?? this.text.length);
  }

  /** The final text (cut before a stop string when one matched). */
  get finalText(): string {
    return this.text.slice(0, this.stoppedAt ?? this.text.length);
  }

  private release(upTo: number): string {
    if (upTo <= this.emitted) return '';
    const out = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return out;
  }
}
