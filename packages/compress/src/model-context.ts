/**
 * The model side of the codec: next-token logits after the start token and the tokens coded so far. Encoder
 * and decoder must run the very same forward calls (same rows, same prefix lengths), because a backend may
 * round a 1-row forward differently from an n-row one; so this class fixes the call pattern: one forward of
 * the start token, then one row per token, and when the context is full one forward of the start token plus
 * the last `keep` tokens (a sliding window), then one row per token again.
 */
import { invariant, type CausalLM, type Sequence } from '@decodekit/core';

export class ModelContext {
  private sequence: Sequence | undefined;
  private startLogits: Float32Array | undefined;
  private logits: Float32Array | undefined;
  /** Tokens in the model's context after the start token (the sliding window). */
  private history: number[] = [];
  private pending: number | undefined;
  /** Forward calls run (for stats and tests). */
  forwards = 0;

  constructor(
    private readonly model: CausalLM,
    private readonly startToken: number,
    private readonly keep: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Logits [vocab] of the next token. The array is owned by the context: read it before `accept`. */
  async next(): Promise<Float32Array> {
    if (this.logits && this.pending === undefined) return this.logits;
    const vocabSize = this.model.info.vocabSize;
    if (!this.sequence) {
      this.sequence = this.model.createSequence();
      const { logits } = await this.sequence.forward(
        { tokens: Int32Array.of(this.startToken) },
        { signal: this.signal },
      );
      this.forwards++;
      this.sequence.commit([0]);
      this.startLogits = logits.slice(0, vocabSize);
      this.logits = this.startLogits;
    }
    if (this.pending !== undefined) {
      const token = this.pending;
      this.pending = undefined;
      this.history.push(token);
      if (this.sequence.tokens.length < this.model.info.contextLength) {
        const { logits } = await this.sequence.forward(
          { tokens: Int32Array.of(token) },
          { signal: this.signal },
        );
        this.forwards++;
        this.sequence.commit([0]);
        this.logits = logits.subarray(0, vocabSize);
      } else {
        this.history = this.history.slice(-this.keep);
        this.sequence.truncate(1);
        const rows = Int32Array.from(this.history);
        const { logits } = await this.sequence.forward({ tokens: rows }, { signal: this.signal });
        this.forwards++;
        this.sequence.commit(Array.from(rows, (_, row) => row));
        this.logits = logits.subarray((rows.length - 1) * vocabSize, rows.length * vocabSize);
      }
    }
    invariant(this.logits !== undefined, 'the first call sets the start logits');
    return this.logits;
  }

  /** Appends a coded token; its forward runs lazily on the next `next()`. */
  accept(token: number): void {
    invariant(this.pending === undefined, 'ModelContext.accept twice without next()');
    this.pending = token;
  }

  /**
   * Forgets every token (Equal-Info Windows reset the model per window). The start token's KV and logits are
   * kept: both sides reuse them, so the call pattern stays identical.
   */
  reset(): void {
    this.history = [];
    this.pending = undefined;
    if (this.sequence) {
      this.sequence.truncate(1);
      this.logits = this.startLogits;
    }
  }

  dispose(): void {
    this.sequence?.dispose();
    this.sequence = undefined;
  }
}
