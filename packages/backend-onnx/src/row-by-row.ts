import { invariant } from '@decodekit/core';
import type { LedgerForward, LedgerRunResult } from './kv-ledger';

/** What {@link runRowByRow} needs from an engine. */
export interface RowByRowEngine<TCache> {
  /** [vocab] per row */
  readonly vocabSize: number;
  /** [hiddenSize] per row of `hidden` and of `embeddings` */
  readonly hiddenSize: number;
  /** One forward of one row (the graph runs a single row on any cache). */
  runOnce(past: TCache, forward: LedgerForward): Promise<LedgerRunResult<TCache>>;
  /** Drops one reference to a cache (the presents of a row the next row has consumed). */
  release(cache: TCache): void;
}

/**
 * Serves a multi-row forward one row at a time, each row on the previous row's presents, for graphs whose
 * multi-row forwards do not run or give other logits (see `MultiRowSupport`): the logits are those of
 * decoding token by token, so verification stays exact. Chains only, on a cache without dead slots — a graph
 * that cannot run several rows has no tree capability, so no dead slots either. `past` stays the caller's.
 */
export async function runRowByRow<TCache>(
  engine: RowByRowEngine<TCache>,
  past: TCache,
  forward: LedgerForward,
): Promise<LedgerRunResult<TCache>> {
  const { tokens, parents, pastLength, pastSlots, pastMask, hidden, embeddings } = forward;
  invariant(parents === null && pastMask === null, 'one-row-at-a-time forwards serve chains only');
  const { vocabSize, hiddenSize } = engine;
  const rows = tokens.length;
  const logits = new Float32Array(rows * vocabSize);
  const hiddenStates = hidden ? new Float32Array(rows * hiddenSize) : undefined;
  let cache = past;
  try {
    for (let row = 0; row < rows; row++) {
      const result = await engine.runOnce(cache, {
        ...forward,
        tokens: tokens.subarray(row, row + 1),
        pastLength: pastLength + row,
        pastSlots: pastSlots + row,
        embeddings:
          embeddings === null
            ? null
            : embeddings.subarray(row * hiddenSize, (row + 1) * hiddenSize),
      });
      if (cache !== past) engine.release(cache);
      cache = result.presents;
      logits.set(result.logits, row * vocabSize);
      if (hiddenStates !== undefined && result.hidden !== undefined)
        hiddenStates.set(result.hidden, row * hiddenSize);
    }
  } catch (error) {
    if (cache !== past) engine.release(cache);
    throw error;
  }
  return { logits, hidden: hiddenStates, presents: cache };
}
