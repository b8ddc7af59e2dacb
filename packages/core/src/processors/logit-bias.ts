import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { assertTokenId } from './validate.js';

/**
 * Adds a fixed bias to chosen tokens' logits (OpenAI's `logit_bias`). A bias of `-Infinity` bans the
 * token. Ids beyond the vocabulary are ignored.
 *
 * @param bias Token id → bias, as a Map or a record (`{ 42: -5 }`). Biases are finite or `-Infinity`.
 */
export function logitBias(
  bias: ReadonlyMap<number, number> | Readonly<Record<number, number>>,
): LogitsProcessor<undefined> {
  const entries: [number, number][] =
    bias instanceof Map
      ? [...bias.entries()]
      : Object.entries(bias as Record<string, number>).map(([id, value]) => [Number(id), value]);
  for (const [id, value] of entries) {
    assertTokenId('bias', id);
    if (typeof value !== 'number' || Number.isNaN(value) || value === Infinity) {
      throw new InvalidArgumentError({
        argument: 'bias',
        message: `the bias of token ${id} must be a finite number or -Infinity, got ${String(value)}.`,
      });
    }
  }
  const ids = Int32Array.from(entries, ([id]) => id);
  const values = Float32Array.from(entries, ([, value]) => value);
  return {
    name: 'logit-bias',
    init: () => undefined,
    advance: state => state,
    process(logits) {
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] < logits.length) logits[ids[i]] += values[i];
      }
    },
  };
}
