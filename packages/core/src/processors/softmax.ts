/**
 * Probabilities of a logits row: `exp(logit - max) / sum`, computed in float64 and stored as float32.
 * Subtracting the maximum keeps it stable for large logits; `-Infinity` logits get probability 0.
 * When every logit is `-Infinity` (everything banned) the result is all zeros.
 *
 * @param logits [vocab] unnormalised log-probabilities.
 * @returns [vocab] a new array of probabilities that sum to 1.
 */
export function softmax(logits: Float32Array): Float32Array {
  const probabilities = new Float32Array(logits.length);
  const max = maxOf(logits);
  if (max === -Infinity) return probabilities;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  for (let i = 0; i < logits.length; i++) probabilities[i] = Math.exp(logits[i] - max) / sum;
  return probabilities;
}

/**
 * Log-probabilities of a logits row: `logit - max - log(sum(exp(logit - max)))`. `-Infinity` stays
 * `-Infinity`. When every logit is `-Infinity` the result is all `-Infinity`.
 *
 * @param logits [vocab]
 * @returns [vocab] a new array of log-probabilities.
 */
export function logSoftmax(logits: Float32Array): Float32Array {
  const result = new Float32Array(logits.length);
  const max = maxOf(logits);
  if (max === -Infinity) return result.fill(-Infinity);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logSum = Math.log(sum);
  for (let i = 0; i < logits.length; i++) result[i] = logits[i] - max - logSum;
  return result;
}

/** @internal The largest value of `values`, `-Infinity` for an empty row. */
export function maxOf(values: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return max;
}
