import { expect } from 'vitest';
import type { LogitsProcessor } from '../../types.js';
import { softmax } from '../softmax.js';

/** @internal Logits whose softmax is `probabilities` (ln p; 0 becomes -Infinity). */
export function logitsOf(probabilities: readonly number[]): Float32Array {
  return Float32Array.from(probabilities, probability => Math.log(probability));
}

/** @internal Runs `processor` after `prefix` then `generated`, returns the processed logits. */
export function processed<TState>(
  processor: LogitsProcessor<TState>,
  logits: Float32Array | readonly number[],
  prefix: readonly number[] = [],
  generated: readonly number[] = [],
): Float32Array {
  let state = processor.init(prefix);
  for (const token of generated) state = processor.advance(state, token);
  const row = Float32Array.from(logits);
  processor.process(row, state);
  return row;
}

/** @internal Probabilities after `processor`. */
export function probabilitiesAfter<TState>(
  processor: LogitsProcessor<TState>,
  probabilities: readonly number[],
  prefix: readonly number[] = [],
  generated: readonly number[] = [],
): number[] {
  return [...softmax(processed(processor, logitsOf(probabilities), prefix, generated))];
}

/** @internal `toEqual` matcher list: each value close to 5 decimals. */
export function closeTo(values: readonly number[]): unknown[] {
  return values.map(value => (Number.isFinite(value) ? expect.closeTo(value, 5) : value));
}

/** @internal What `fn` throws, or undefined. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
