import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';

/**
 * Keeps the `k` highest logits and sets the rest to `-Infinity` (Fan et al., 2018,
 * https://arxiv.org/abs/1805.04833). Unlike Hugging Face, ties at the k-th value are broken by the
 * lowest token id, so at most `k` tokens ever survive (as in llama.cpp).
 *
 * Runs in O(vocab) on average (quickselect), not O(vocab log vocab).
 *
 * @param k A non-negative integer; `0` disables the filter (Hugging Face's and llama.cpp's convention).
 */
export function topK(k: number): LogitsProcessor<undefined> {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) {
    throw new InvalidArgumentError({
      argument: 'k',
      message: `top-k must be a non-negative integer (0 disables it), got ${String(k)}.`,
    });
  }
  let scratch = new Float32Array(0);
  return {
    name: `top-k(${k})`,
    init: () => undefined,
    advance: state => state,
    process(logits) {
      if (k === 0 || k >= logits.length) return;
      if (scratch.length < logits.length) scratch = new Float32Array(logits.length);
      const values = scratch.subarray(0, logits.length);
      values.set(logits);
      // The k-th largest value (index k - 1 in descending order).
      const threshold = selectDescending(values, k - 1);
      let above = 0;
      for (let i = 0; i < logits.length; i++) if (logits[i] > threshold) above++;
      let tiesLeft = k - above;
      for (let i = 0; i < logits.length; i++) {
        const value = logits[i];
        if (value > threshold) continue;
        if (value === threshold && tiesLeft > 0) {
          tiesLeft--;
          continue;
        }
        logits[i] = -Infinity;
      }
    },
  };
}

/**
 * @internal Hoare's quickselect: reorders `values` in place and returns the element that would sit at
 * `rank` if it were sorted in descending order.
 */
export function selectDescending(values: Float32Array | Float64Array, rank: number): number {
  let left = 0;
  let right = values.length - 1;
  while (left < right) {
    // Median of three keeps sorted and reverse-sorted rows linear.
    const middle = (left + right) >>> 1;
    const pivot = medianOfThree(values[left], values[middle], values[right]);
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i] > pivot) i++;
      while (values[j] < pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (rank <= j) right = j;
    else if (rank >= i) left = i;
    else return values[rank];
  }
  return values[rank];
}

function medianOfThree(a: number, b: number, c: number): number {
  if (a > b) [a, b] = [b, a];
  if (b > c) b = c;
  return a > b ? a : b;
}
