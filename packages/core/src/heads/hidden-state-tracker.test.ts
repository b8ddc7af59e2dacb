import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { CausalLM } from '../types.js';
import { hiddenStateTracker } from './hidden-state-tracker.js';
import { matVec } from './linear-algebra.js';

// vocab 3, hidden 2: E = [[1, 0], [0, 1], [1, 1]] has full column rank, so h is recovered from E h.
const lmHead = Float32Array.of(1, 0, 0, 1, 1, 1);
const model = {
  info: { name: 'toy', vocabSize: 3 },
  capabilities: { backendId: 'test' },
  embeddingTable: () => lmHead,
} as unknown as CausalLM;
const logitsOf = (...hidden: number[][]) => {
  const out = new Float32Array(hidden.length * 3);
  hidden.forEach((h, row) =>
    matVec(lmHead, 3, 2, Float32Array.from(h), out.subarray(row * 3, (row + 1) * 3)),
  );
  return out;
};
const weights = { model: 'toy', vocabSize: 3, hiddenSize: 2 };
const rounded = (states: readonly Float32Array[] | undefined) =>
  states?.map(state => Array.from(state, value => Math.round(value * 1e4) / 1e4));

describe('hiddenStateTracker', () => {
  it('keeps the recovered states of committed rows (pending token, accepted rows), oldest first', () => {
    const tracker = hiddenStateTracker({ id: 'test', label: 'Test', weights, history: 3 });
    tracker.begin(model);
    expect(tracker.current([1, 2])).toBeUndefined();
    // Forward rows: pending token, draft rows 0..2; rows 0 and 1 accepted, row 2 rejected.
    tracker.observe({
      tokens: [1, 2],
      tree: { tokens: Int32Array.of(0, 1, 2), parents: Int32Array.of(-1, 0, 1) },
      acceptedRows: [0, 1],
      emitted: [0, 1, 2],
      logits: logitsOf([1, 2], [3, 4], [5, 6], [7, 8]),
      vocabSize: 3,
    });
    expect(tracker.current([1, 2])).toBeUndefined(); // stale context
    expect(rounded(tracker.current([1, 2, 0, 1, 2]))).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    // Nothing accepted: only the pending token's state is new; the oldest falls out of the window.
    tracker.observe({
      tokens: [1, 2, 0, 1, 2],
      tree: { tokens: Int32Array.of(1), parents: Int32Array.of(-1) },
      acceptedRows: [],
      emitted: [0],
      logits: logitsOf([9, 10], [11, 12]),
      vocabSize: 3,
    });
    expect(rounded(tracker.current([1, 2, 0, 1, 2, 0]))).toEqual([
      [3, 4],
      [5, 6],
      [9, 10],
    ]);
    tracker.end();
    expect(tracker.current([1, 2, 0, 1, 2, 0])).toBeUndefined();
  });

  it('rejects weights trained for another target', () => {
    const tracker = hiddenStateTracker({
      id: 'test',
      label: 'Test',
      weights: { ...weights, vocabSize: 4 },
    });
    expect(() => tracker.begin(model)).toThrow(InvalidArgumentError);
  });
});
