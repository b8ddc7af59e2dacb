import { InvariantError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import type { LedgerForward } from './kv-ledger';
import { runRowByRow, type RowByRowEngine } from './row-by-row';

/** Caches are the token ids in their slots; the engine logs every row run and every release. */
function fakeEngine({ failAtRow = -1 } = {}) {
  const runs: { past: readonly number[]; forward: LedgerForward }[] = [];
  const released: (readonly number[])[] = [];
  const engine: RowByRowEngine<readonly number[]> = {
    vocabSize: 3,
    hiddenSize: 2,
    async runOnce(past, forward) {
      runs.push({ past, forward });
      if (runs.length - 1 === failAtRow) throw new Error('row failed');
      const token = forward.tokens[0];
      // Logits and hidden row are a fingerprint of (position, token).
      const logits = Float32Array.of(forward.pastLength, token, past.length);
      const hidden = Float32Array.of(token, -token);
      return { logits, hidden: forward.hidden ? hidden : undefined, presents: [...past, token] };
    },
    release: cache => released.push(cache),
  };
  return { engine, runs, released };
}

const forward = (tokens: number[], extra: Partial<LedgerForward> = {}): LedgerForward => ({
  tokens: Int32Array.from(tokens),
  parents: null,
  pastLength: 2,
  pastSlots: 2,
  pastMask: null,
  hidden: true,
  skipLayers: undefined,
  embeddings: null,
  ...extra,
});

describe('runRowByRow', () => {
  it('runs each row on the previous row presents and concatenates logits and hidden rows', async () => {
    const { engine, runs, released } = fakeEngine();
    const past = [7, 8];
    const result = await runRowByRow(engine, past, forward([4, 5, 6]));
    expect(runs.map(run => [...run.past])).toEqual([
      [7, 8],
      [7, 8, 4],
      [7, 8, 4, 5],
    ]);
    expect(runs.map(run => [run.forward.pastLength, run.forward.pastSlots])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(Array.from(result.logits)).toEqual([2, 4, 2, 3, 5, 3, 4, 6, 4]);
    expect(Array.from(result.hidden ?? [])).toEqual([4, -4, 5, -5, 6, -6]);
    expect(result.presents).toEqual([7, 8, 4, 5, 6]);
    // The rows' intermediate caches are released; the caller's past and the result's presents are not.
    expect(released).toEqual([
      [7, 8, 4],
      [7, 8, 4, 5],
    ]);
  });

  it('splits inputs_embeds rows with the tokens', async () => {
    const { engine, runs } = fakeEngine();
    const embeddings = Float32Array.of(1, 2, 3, 4);
    await runRowByRow(engine, [], forward([4, 5], { embeddings, pastLength: 0, pastSlots: 0 }));
    expect(runs.map(run => Array.from(run.forward.embeddings ?? []))).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('releases the cache it holds when a row fails', async () => {
    const { engine, released } = fakeEngine({ failAtRow: 2 });
    await expect(runRowByRow(engine, [7], forward([4, 5, 6]))).rejects.toThrow('row failed');
    expect(released).toEqual([
      [7, 4],
      [7, 4, 5],
    ]);
  });

  it('serves chains only', async () => {
    const { engine } = fakeEngine();
    await expect(
      runRowByRow(engine, [], forward([4, 5], { parents: Int32Array.of(-1, -1) })),
    ).rejects.toSatisfy(error => InvariantError.isInstance(error));
  });
});
