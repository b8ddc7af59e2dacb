import { ContextLengthError, type CausalLM, type Sequence } from '@decodekit/core';

/**
 * Scores continuations of one prompt under a model: the prompt (all but its last token) is prefilled once
 * into a kept sequence, and each continuation costs one chain forward of `[last prompt token, ...continuation]`
 * that is never committed. Returns the sum of the continuation's token log-probabilities.
 */
export class ContinuationLogLikelihood {
  private sequence: Sequence | undefined;
  private key = '';

  constructor(private readonly model: CausalLM) {}

  /** Σ log p(continuation[i] | prompt, continuation[<i]) under the model. */
  async score(
    prompt: readonly number[],
    continuation: readonly number[],
    signal?: AbortSignal,
  ): Promise<number> {
    if (continuation.length === 0) return 0;
    const { contextLength, vocabSize } = this.model.info;
    if (prompt.length + continuation.length > contextLength) {
      throw new ContextLengthError({
        length: prompt.length + continuation.length,
        contextLength,
        what: `Scoring a candidate under ${this.model.info.name}`,
      });
    }
    const key = prompt.join(',');
    if (!this.sequence || key !== this.key) {
      this.sequence?.dispose();
      this.sequence = this.model.createSequence();
      this.key = key;
      if (prompt.length > 1) {
        await this.sequence.forward({ tokens: Int32Array.from(prompt.slice(0, -1)) }, { signal });
        this.sequence.commit(prompt.slice(0, -1).map((_, i) => i));
      }
    }
    const input = Int32Array.from([prompt[prompt.length - 1], ...continuation.slice(0, -1)]);
    const { logits } = await this.sequence.forward({ tokens: input }, { signal });
    let total = 0;
    for (let row = 0; row < continuation.length; row++) {
      const offset = row * vocabSize;
      let max = -Infinity;
      for (let i = 0; i < vocabSize; i++) if (logits[offset + i] > max) max = logits[offset + i];
      let sum = 0;
      for (let i = 0; i < vocabSize; i++) sum += Math.exp(logits[offset + i] - max);
      total += logits[offset + continuation[row]] - max - Math.log(sum);
    }
    return total;
  }

  /** Releases the kept prompt sequence. */
  dispose(): void {
    this.sequence?.dispose();
    this.sequence = undefined;
    this.key = '';
  }
}
