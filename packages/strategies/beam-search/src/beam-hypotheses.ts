/** When a beam search may stop before `maxTokens` (Hugging Face `early_stopping`). */
export type EarlyStopping = boolean | 'never';

/** A finished hypothesis: generated ids (EOS included when it ended on one) and its scores. */
export interface ScoredHypothesis {
  /** Generated ids (the prompt excluded). */
  readonly tokens: number[];
  /** Ranking score: `sumScore / tokens.length ** lengthPenalty`. */
  readonly score: number;
  /** Sum of the per-step search scores (log-probabilities, minus diversity penalties in diverse beam search). */
  readonly sumScore: number;
  /** Sum of the log-probabilities of the processed distribution, without diversity penalties. */
  readonly logProbability: number;
  /**
   * Log-probability of each token under the processed distribution (`logProbability` is their sum), when
   * the caller gave them (the search always does).
   */
  readonly tokenLogProbabilities?: readonly number[];
}

/**
 * The `numBeams` best finished hypotheses of one beam group, as Hugging Face's `BeamHypotheses`: a new
 * one enters while there is room or when it beats the worst kept one, which then leaves.
 */
export class BeamHypotheses {
  private readonly kept: ScoredHypothesis[] = [];
  private worst = Infinity;

  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty: number,
    private readonly earlyStopping: EarlyStopping,
    private readonly maxTokens: number,
  ) {}

  get size(): number {
    return this.kept.length;
  }

  get hypotheses(): readonly ScoredHypothesis[] {
    return this.kept;
  }

  /** Length-penalized score of a hypothesis of `length` generated tokens. */
  normalize(sumScore: number, length: number): number {
    return sumScore / length ** this.lengthPenalty;
  }

  /** Offers a finished hypothesis of `tokens.length` generated tokens (and, optionally, per-token log-probabilities). */
  add(
    tokens: number[],
    sumScore: number,
    logProbability: number,
    tokenLogProbabilities?: readonly number[],
  ): void {
    const score = this.normalize(sumScore, tokens.length);
    if (this.kept.length >= this.numBeams && score <= this.worst) return;
    this.kept.push({
      tokens,
      score,
      sumScore,
      logProbability,
      ...(tokenLogProbabilities ? { tokenLogProbabilities } : {}),
    });
    if (this.kept.length > this.numBeams) {
      let worstIndex = 0;
      for (let i = 1; i < this.kept.length; i++)
        if (this.kept[i].score < this.kept[worstIndex].score) worstIndex = i;
      this.kept.splice(worstIndex, 1);
    }
    this.worst = Math.min(...this.kept.map(hypothesis => hypothesis.score));
  }

  /**
   * Hugging Face's `is_done`: true when no running beam can still beat the worst kept hypothesis.
   * `bestSumScore` is the best candidate score of this step, `length` the generated length after it.
   */
  isDone(bestSumScore: number, length: number): boolean {
    if (this.kept.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    // 'never' with a positive length penalty: the best a running beam can reach is at the longest length.
    const horizon =
      this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxTokens : length;
    return this.worst >= this.normalize(bestSumScore, horizon);
  }
}
