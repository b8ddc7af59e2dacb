import { InvalidArgumentError, VocabMismatchError } from '../errors.js';
import { argmax } from '../processors/index.js';
import type { CausalLM, Sequence } from '../types.js';

/**
 * The draft model's KV state for one drafter: kept in step with the decoding context (truncated to the
 * longest common prefix, fed only the missing tokens), plus tree forwards of a draft after the context
 * that commit nothing.
 */
export class DraftSession {
  private sequence: Sequence | undefined;
  /** Draft-model forward calls made so far. */
  forwards = 0;

  constructor(
    readonly model: CausalLM,
    /** Layers the draft forwards skip (a self-draft: the target with layers skipped). */
    private readonly skipLayers?: readonly number[],
  ) {}

  get vocabSize(): number {
    return this.model.info.vocabSize;
  }

  /** Throws VocabMismatchError unless `target` uses the draft model's token ids (call it in `begin`). */
  checkTarget(target: CausalLM): void {
    if (target.info.vocabSize !== this.vocabSize) {
      throw new VocabMismatchError({
        message:
          `The draft model "${this.model.info.name}" has a vocabulary of ${this.vocabSize} tokens but the target ` +
          `"${target.info.name}" has ${target.info.vocabSize}. A draft model must use the target's tokenizer ` +
          '(the same token ids): pick a smaller model of the same family, or draft without a second model ' +
          '(promptLookup(), tokenRecycling()).',
      });
    }
  }

  /** Positions the draft model can still take after `contextLength` tokens. */
  room(contextLength: number): number {
    return this.model.info.contextLength - contextLength;
  }

  /** Brings the draft sequence to `context` and returns the draft logits after it (a copy). [vocab] */
  async contextLogits(context: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    this.sequence ??= this.model.createSequence();
    const committed = this.sequence.tokens;
    // Keep at most all but the last context token, so one forward yields the logits after the context.
    const limit = Math.min(committed.length, context.length - 1);
    let common = 0;
    while (common < limit && committed[common] === context[common]) common++;
    if (common < committed.length) this.sequence.truncate(common);
    const feed = Int32Array.from(context.slice(common));
    const { logits } = await this.sequence.forward(
      { tokens: feed, skipLayers: this.skipLayers },
      { signal },
    );
    this.forwards++;
    this.sequence.commit(Array.from({ length: feed.length }, (_, i) => i));
    const vocab = this.vocabSize;
    return logits.slice((feed.length - 1) * vocab, feed.length * vocab);
  }

  /**
   * Draft logits at every row of a tree placed after the synced context (`parents[i] = -1` attaches row i
   * to the context). Nothing is committed. [rows, vocab]
   */
  async treeLogits(
    tokens: Int32Array,
    parents: Int32Array,
    signal?: AbortSignal,
  ): Promise<Float32Array> {
    if (!this.sequence)
      throw new InvalidArgumentError({
        argument: 'context',
        message: 'sync the draft to a context first.',
      });
    let chain = true;
    for (let i = 0; i < parents.length && chain; i++) chain = parents[i] === i - 1;
    const { logits } = await this.sequence.forward(
      { tokens, parents: chain ? undefined : parents, skipLayers: this.skipLayers },
      { signal },
    );
    this.forwards++;
    return logits;
  }

  /** Releases the KV state. */
  dispose(): void {
    this.sequence?.dispose();
    this.sequence = undefined;
  }
}

/**
 * Writes the draft distribution softmax(logits / temperature) into `out` (one-hot argmax when temperature
 * is 0) and returns it. [vocab]
 */
export function draftDistribution(
  logits: ArrayLike<number>,
  temperature: number,
  out: Float32Array,
): Float32Array {
  const vocab = out.length;
  if (temperature === 0) {
    out.fill(0);
    out[argmax(logits)] = 1;
    return out;
  }
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) {
    const weight = Math.exp((logits[i] - max) / temperature);
    out[i] = weight;
    sum += weight;
  }
  for (let i = 0; i < vocab; i++) out[i] /= sum;
  return out;
}

/**
 * The deepest draft, at most `depth` levels, whose forwards fit both models' contexts: the draft model's
 * last tree forward holds the rows above the last level, the target's verification holds every row.
 * `rowsThrough(d)` is the most rows the first d levels can have — decided by the shape alone, so the cut
 * never depends on what was drawn.
 */
export function fitDepth(
  depth: number,
  rowsThrough: (levels: number) => number,
  {
    contextLength,
    draftContext,
    targetContext,
  }: { contextLength: number; draftContext: number; targetContext: number },
): number {
  // The context itself must fit the draft model, or there is no draft.
  if (contextLength > draftContext) return 0;
  let fitted = 0;
  while (
    fitted < depth &&
    rowsThrough(fitted) <= draftContext - contextLength &&
    rowsThrough(fitted + 1) <= targetContext - contextLength
  ) {
    fitted++;
  }
  return fitted;
}
