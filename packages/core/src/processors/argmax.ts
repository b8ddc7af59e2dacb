/**
 * Index of the largest logit; the lowest index wins ties (as llama.cpp's and PyTorch's argmax do), so
 * greedy decoding is deterministic on every backend. Returns -1 for an empty row and 0 when every
 * logit is `-Infinity`.
 *
 * @param logits [vocab]
 */
export function argmax(logits: ArrayLike<number>): number {
  if (logits.length === 0) return -1;
  let best = 0;
  let bestValue = logits[0];
  for (let i = 1; i < logits.length; i++) {
    // Strict `>` keeps the first (lowest) index among equal maxima.
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}
