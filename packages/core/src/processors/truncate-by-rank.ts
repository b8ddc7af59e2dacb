import { selectDescending } from './top-k.js';
import { SeenMarks } from './token-history.js';

/**
 * @internal Keeps the best-ranked tokens until their probabilities add up to at least `mass` (the token
 * that crosses it is kept), and bans the rest: the shared core of top-p and typical sampling.
 *
 * Tokens are ranked by `scores` (higher first, the lowest id first on ties; `-Infinity` = already
 * banned). Instead of sorting the whole vocabulary it sorts only the best 64 candidates, then 256,
 * 1024... until they hold `mass`: O(vocab) per round, and real distributions stop after one or two.
 */
export class RankTruncation {
  private readonly marks = new SeenMarks();
  private scratch = new Float64Array(0);

  apply(
    logits: Float32Array,
    scores: Float64Array,
    probabilities: Float64Array,
    mass: number,
  ): void {
    let finite = 0;
    for (let i = 0; i < scores.length; i++) if (scores[i] !== -Infinity) finite++;
    if (finite === 0) return;
    if (this.scratch.length < scores.length) this.scratch = new Float64Array(scores.length);
    for (let wanted = Math.min(64, finite); ; wanted = Math.min(wanted * 4, finite)) {
      const ranked = this.best(scores, wanted);
      let cumulative = 0;
      let kept = -1;
      for (let rank = 0; rank < ranked.length; rank++) {
        cumulative += probabilities[ranked[rank]];
        if (cumulative >= mass) {
          kept = rank + 1;
          break;
        }
      }
      if (kept === -1 && wanted < finite) continue;
      if (kept === -1) return; // Rounding kept the total below `mass`: keep everything.
      this.marks.begin(logits.length);
      for (let rank = 0; rank < kept; rank++) this.marks.mark(ranked[rank]);
      for (let i = 0; i < logits.length; i++) if (this.marks.mark(i)) logits[i] = -Infinity;
      return;
    }
  }

  /** At least `count` best indices (all ties at the boundary), sorted best first. */
  private best(scores: Float64Array, count: number): Uint32Array {
    const values = this.scratch.subarray(0, scores.length);
    values.set(scores);
    const threshold = selectDescending(values, count - 1);
    let selected = 0;
    for (let i = 0; i < scores.length; i++)
      if (scores[i] >= threshold && scores[i] !== -Infinity) selected++;
    const indices = new Uint32Array(selected);
    for (let i = 0, next = 0; i < scores.length; i++) {
      if (scores[i] >= threshold && scores[i] !== -Infinity) indices[next++] = i;
    }
    return indices.sort((a, b) => scores[b] - scores[a] || a - b);
  }
}
