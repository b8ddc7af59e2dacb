import { fc, test } from '@fast-check/vitest';
import { DisposedError, InvalidArgumentError, type Sequence } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { MASKED } from './attention-bias';
import {
  KvLedgerSequence,
  MAX_DEAD_SLOTS,
  type KvLedgerEngine,
  type LedgerForward,
} from './kv-ledger';
import { RunQueue } from './run-queue';

/**
 * A cache whose "tensors" are the token ids in its slots, reference-counted like WebGPU's device blocks, so
 * the tests see which slot holds what and catch a read of a freed cache or a reference released twice.
 */
interface FakeCache {
  readonly slots: readonly number[];
  refs: number;
}

const VOCAB = 32;

/**
 * A model whose logits row is a fingerprint of what the row attends to: the alive past slots (mask 0) and the
 * row's ancestors, each at its position. Two forwards give equal rows exactly when their rows see the same
 * tokens at the same positions, which is what a correct ledger must guarantee.
 */
function fakeEngine({ tree = true } = {}) {
  const empty: FakeCache = { slots: [], refs: 1 };
  const live = new Set<FakeCache>();
  const runs: LedgerForward[] = [];
  const gathers: { sourceSlots: number; positions: number[] }[] = [];
  const make = (slots: readonly number[]): FakeCache => {
    const cache = { slots, refs: 1 };
    live.add(cache);
    return cache;
  };
  const alive = (cache: FakeCache, what: string) => {
    if (cache !== empty && cache.refs <= 0) throw new Error(`${what} of a freed cache`);
  };
  const engine: KvLedgerEngine<FakeCache> & { disposed: boolean } = {
    info: {
      name: 'fake',
      vocabSize: VOCAB,
      contextLength: 512,
      eosTokenIds: [],
      numLayers: 2,
      hiddenSize: 4,
    },
    capabilities: { tree, hiddenStates: false, layerSkip: false, backendId: 'fake' },
    queue: new RunQueue(),
    disposed: false,
    emptyCache: empty,
    async run(past, forward) {
      alive(past, 'run');
      runs.push(forward);
      const { tokens, parents, pastLength, pastSlots, pastMask } = forward;
      expect(past.slots.length).toBe(pastSlots);
      expect(pastMask === null || pastMask.length >= pastSlots).toBe(true);
      const visiblePast = past.slots.filter((_, slot) => pastMask === null || pastMask[slot] === 0);
      expect(visiblePast.length).toBe(pastLength);
      const rows = tokens.length;
      const logits = new Float32Array(rows * VOCAB);
      const paths: number[][] = [];
      for (let row = 0; row < rows; row++) {
        const parent = parents === null ? row - 1 : parents[row];
        paths.push([...(parent < 0 ? [] : paths[parent]), tokens[row]]);
        const seen = [...visiblePast, ...paths[row]];
        seen.forEach((token, position) => {
          logits[row * VOCAB + token] += (position + 1) * (position + 7);
        });
      }
      return { logits, presents: make([...past.slots, ...tokens]) };
    },
    gather(source, sourceSlots, positions) {
      alive(source, 'gather');
      expect(source.slots.length).toBe(sourceSlots);
      gathers.push({ sourceSlots, positions: Array.from(positions) });
      const next =
        positions.length === 0 ? empty : make(Array.from(positions, p => source.slots[p]));
      engine.release(source);
      return next;
    },
    retain(cache) {
      alive(cache, 'retain');
      if (cache !== empty) cache.refs++;
      return cache;
    },
    release(cache) {
      if (cache === empty) return;
      if (cache.refs <= 0) throw new Error('a cache released more often than retained');
      cache.refs--;
      if (cache.refs === 0) live.delete(cache);
    },
  };
  return { engine, live, runs, gathers };
}

/** Logits of `next` on a fresh sequence that committed `prefix` as one chain: the reference. */
async function reference(
  engine: KvLedgerEngine<FakeCache>,
  prefix: readonly number[],
  next: readonly number[],
): Promise<Float32Array> {
  const sequence = new KvLedgerSequence(engine);
  if (prefix.length > 0) {
    await sequence.forward({ tokens: Int32Array.from(prefix) });
    sequence.commit(prefix.map((_, index) => index));
  }
  const { logits } = await sequence.forward({ tokens: Int32Array.from(next) });
  sequence.dispose();
  return logits;
}

async function chain(sequence: Sequence, tokens: readonly number[]): Promise<void> {
  await sequence.forward({ tokens: Int32Array.from(tokens) });
  sequence.commit(tokens.map((_, index) => index));
}

describe('KvLedgerSequence', () => {
  it('a whole-chain commit adopts the forward presents: no gather, no dead slot', async () => {
    const { engine, runs, gathers } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2, 3]);
    await chain(sequence, [4]);
    const { logits } = await sequence.forward({ tokens: Int32Array.of(5) });
    expect(gathers).toEqual([]);
    expect(runs[2]).toMatchObject({ pastLength: 4, pastSlots: 4, pastMask: null });
    expect(sequence.tokens).toEqual([1, 2, 3, 4]);
    expect(logits).toEqual(await reference(engine, [1, 2, 3, 4], [5]));
  });

  it('a tree commit keeps the dropped rows as masked slots (zero-copy) and later rows see only the path', async () => {
    const { engine, runs, gathers } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2]);
    // Rows 0..3 = 5, 6, 7, 8 with parents -1, -1, 1, 2: the path 6 → 7 → 8 drops row 0.
    await sequence.forward({
      tokens: Int32Array.of(5, 6, 7, 8),
      parents: Int32Array.of(-1, -1, 1, 2),
    });
    sequence.commit([1, 2]);
    expect(sequence.tokens).toEqual([1, 2, 6, 7]);
    const { logits } = await sequence.forward({ tokens: Int32Array.of(9, 10) });
    expect(gathers).toEqual([]);
    const after = runs[runs.length - 1];
    expect(after.pastSlots).toBe(6);
    expect(after.pastLength).toBe(4);
    // Slot 2 (row 0) and slot 5 (row 3, not committed) are dead.
    expect(Array.from(after.pastMask ?? [])).toEqual([0, 0, MASKED, 0, 0, MASKED]);
    expect(logits).toEqual(await reference(engine, [1, 2, 6, 7], [9, 10]));
  });

  it('dead slots add up across commits and are compacted by one gather once more than MAX_DEAD_SLOTS', async () => {
    const { engine, runs, gathers } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2, 3]);
    const perStep = 4; // 5 roots, 1 kept
    const steps = Math.floor(MAX_DEAD_SLOTS / perStep) + 1;
    for (let step = 0; step < steps; step++) {
      await sequence.forward({
        tokens: Int32Array.of(10, 11, 12, 13, 14),
        parents: Int32Array.of(-1, -1, -1, -1, -1),
      });
      sequence.commit([step % 5]);
      // Exactly MAX_DEAD_SLOTS dead slots are still tolerated; one more compacts.
      expect(gathers.length).toBe((step + 1) * perStep > MAX_DEAD_SLOTS ? 1 : 0);
    }
    const committed = [1, 2, 3, ...Array.from({ length: steps }, (_, step) => 10 + (step % 5))];
    expect(sequence.tokens).toEqual(committed);
    // The gather kept the alive slots: the prompt, then each step's kept row.
    expect(gathers[0].positions).toEqual([
      0,
      1,
      2,
      ...Array.from({ length: steps }, (_, step) => 3 + step * 5 + (step % 5)),
    ]);
    const { logits } = await sequence.forward({ tokens: Int32Array.of(20) });
    expect(runs[runs.length - 1]).toMatchObject({ pastSlots: committed.length, pastMask: null });
    expect(logits).toEqual(await reference(engine, committed, [20]));
  });

  it('graphs without tree attention gather the kept prefix of a chain at once', async () => {
    const { engine, runs, gathers } = fakeEngine({ tree: false });
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2]);
    await sequence.forward({ tokens: Int32Array.of(3, 4, 5) });
    sequence.commit([0, 1]);
    expect(gathers).toEqual([{ sourceSlots: 5, positions: [0, 1, 2, 3] }]);
    const { logits } = await sequence.forward({ tokens: Int32Array.of(6) });
    expect(runs[runs.length - 1]).toMatchObject({ pastSlots: 4, pastMask: null });
    expect(logits).toEqual(await reference(engine, [1, 2, 3, 4], [6]));
  });

  it('truncate rolls back to the alive slots of the kept prefix, skipping dead ones', async () => {
    const { engine, runs, gathers } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2]);
    await sequence.forward({ tokens: Int32Array.of(5, 6, 7), parents: Int32Array.of(-1, -1, 1) });
    sequence.commit([1, 2]); // slots: 1 2 [5] 6 7
    sequence.truncate(3);
    expect(sequence.tokens).toEqual([1, 2, 6]);
    expect(gathers).toEqual([{ sourceSlots: 5, positions: [0, 1, 3] }]);
    const { logits } = await sequence.forward({ tokens: Int32Array.of(8) });
    expect(runs[runs.length - 1]).toMatchObject({ pastLength: 3, pastSlots: 3, pastMask: null });
    expect(logits).toEqual(await reference(engine, [1, 2, 6], [8]));
    // Truncating to the current length changes nothing; a bad length is a typed error.
    sequence.truncate(3);
    expect(gathers.length).toBe(1);
    expect(() => sequence.truncate(4)).toThrow(InvalidArgumentError);
    expect(() => sequence.truncate(-1)).toThrow(InvalidArgumentError);
  });

  it('truncate and commit drop the last forward: its rows can no longer be committed', async () => {
    const { engine, live } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2, 3]);
    await sequence.forward({ tokens: Int32Array.of(4, 5) });
    sequence.truncate(2);
    expect(() => sequence.commit([0])).toThrow(InvalidArgumentError);
    // A forward still running when the sequence is truncated does not become committable either.
    const pending = sequence.forward({ tokens: Int32Array.of(7) });
    sequence.truncate(1);
    await pending;
    expect(() => sequence.commit([0])).toThrow(/there is none to commit/);
    expect(sequence.tokens).toEqual([1]);
    sequence.dispose();
    expect(live.size).toBe(0);
  });

  it('commit accepts one root-to-node path only, and each forward once', async () => {
    const { engine } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    expect(() => sequence.commit([0])).toThrow(/call forward\(\) first/);
    await sequence.forward({ tokens: Int32Array.of(1, 2, 3), parents: Int32Array.of(-1, 0, 0) });
    expect(() => sequence.commit([0, 2, 1])).toThrow(/root-to-node path/);
    expect(() => sequence.commit([1])).toThrow(/root-to-node path/);
    expect(() => sequence.commit([0, 3])).toThrow(/not a row of the last forward/);
    expect(() => sequence.commit([0.5])).toThrow(InvalidArgumentError);
    sequence.commit([0, 2]);
    expect(sequence.tokens).toEqual([1, 3]);
    expect(() => sequence.commit([0])).toThrow(/there is none to commit/);
    // An empty commit keeps nothing and drops the forward.
    await sequence.forward({ tokens: Int32Array.of(4) });
    sequence.commit([]);
    expect(() => sequence.commit([0])).toThrow(/there is none to commit/);
    expect(sequence.tokens).toEqual([1, 3]);
  });

  it('a fork shares the cache and the last forward; each side then commits its own path', async () => {
    const { engine, live, gathers } = fakeEngine();
    const original = new KvLedgerSequence(engine);
    await chain(original, [1, 2]);
    await original.forward({ tokens: Int32Array.of(5, 6, 7), parents: Int32Array.of(-1, 0, 0) });
    const fork = original.fork();
    original.commit([0, 1]);
    fork.commit([0, 2]);
    expect(original.tokens).toEqual([1, 2, 5, 6]);
    expect(fork.tokens).toEqual([1, 2, 5, 7]);
    const [a, b] = [
      await original.forward({ tokens: Int32Array.of(9) }),
      await fork.forward({ tokens: Int32Array.of(9) }),
    ];
    expect(gathers).toEqual([]); // both sides reuse the same presents, masked differently
    expect(a.logits).toEqual(await reference(engine, [1, 2, 5, 6], [9]));
    expect(b.logits).toEqual(await reference(engine, [1, 2, 5, 7], [9]));
    // Truncating the fork does not touch the original's cache.
    fork.truncate(1);
    const again = await original.forward({ tokens: Int32Array.of(9) });
    expect(again.logits).toEqual(a.logits);
    original.dispose();
    expect(live.size).toBeGreaterThan(0); // the fork still holds its cache
    fork.dispose();
    expect(live.size).toBe(0);
  });

  it('an aborted forward rejects, keeps no rows and leaks no reference', async () => {
    const { engine, live } = fakeEngine();
    const sequence = new KvLedgerSequence(engine);
    await chain(sequence, [1, 2]);
    const controller = new AbortController();
    const pending = sequence.forward({ tokens: Int32Array.of(3) }, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    expect(() => sequence.commit([0])).toThrow(/there is none to commit/);
    expect(sequence.tokens).toEqual([1, 2]);
    sequence.dispose();
    expect(live.size).toBe(0);
    expect(() => sequence.fork()).toThrow(DisposedError);
  });

  test.prop(
    [
      fc.array(
        fc.oneof(
          fc.record({
            kind: fc.constant('tree' as const),
            tokens: fc.array(fc.integer({ min: 0, max: VOCAB - 1 }), {
              minLength: 1,
              maxLength: 6,
            }),
            parentSeeds: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
            pick: fc.nat(),
          }),
          fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
          fc.record({ kind: fc.constant('fork' as const) }),
        ),
        { maxLength: 30 },
      ),
      fc.boolean(),
    ],
    { numRuns: 60 },
  )(
    'after any commits, truncations and forks, every sequence sees exactly its committed tokens, and no reference leaks',
    async (operations, tree) => {
      const { engine, live } = fakeEngine({ tree });
      const sequences = [new KvLedgerSequence(engine)];
      for (const operation of operations) {
        const sequence = sequences[sequences.length - 1];
        if (operation.kind === 'fork') {
          sequences.push(sequence.fork() as KvLedgerSequence<FakeCache>);
        } else if (operation.kind === 'truncate') {
          sequence.truncate(operation.keep % (sequence.tokens.length + 1));
        } else {
          const rows = operation.tokens.length;
          const parents = Int32Array.from({ length: rows }, (_, row) =>
            tree ? (operation.parentSeeds[row] % (row + 1)) - 1 : row - 1,
          );
          await sequence.forward({ tokens: Int32Array.from(operation.tokens), parents });
          // Commit the path from the root to a chosen row (or a prefix of the chain).
          const path: number[] = [];
          for (let row = operation.pick % rows; row >= 0; row = parents[row]) path.unshift(row);
          sequence.commit(path);
          expect(sequence.tokens.slice(-path.length)).toEqual(
            path.map(row => operation.tokens[row]),
          );
        }
      }
      for (const sequence of sequences) {
        const { logits } = await sequence.forward({ tokens: Int32Array.of(0) });
        expect(logits).toEqual(await reference(engine, sequence.tokens, [0]));
        sequence.dispose();
      }
      expect(live.size).toBe(0);
    },
  );
});
