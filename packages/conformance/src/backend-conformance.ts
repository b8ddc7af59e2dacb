/**
 * Backend conformance checks: what every `CausalLM` a backend returns must do, written as one function so
 * that every backend package runs the same suite (seed of `@decodekit/conformance`'s
 * `runBackendConformance`). They compare a backend with itself (chain vs one-by-one, tree vs per-path
 * chains, fork vs original), so they need no reference numbers.
 */
import {
  AbortedError,
  ContextLengthError,
  DisposedError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type CausalLM,
  type Sequence,
} from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Options of {@link runBackendConformance}. */
export interface BackendConformanceOptions {
  /** Makes a fresh model (called once for the suite, and again for the dispose checks). */
  readonly makeModel: () => Promise<CausalLM>;
  /**
   * The same weights without tree attention (a `--plain` export), when the backend has one: its chains must
   * match `makeModel`'s and trees must be refused.
   */
  readonly makePlainModel?: () => Promise<CausalLM>;
  /** Largest allowed absolute logit difference between two ways of computing the same row (default 1e-4). */
  readonly tolerance?: number;
  /** Prompt token ids (default: a few ids spread over the vocabulary). */
  readonly prompt?: readonly number[];
  /** Checks to skip, by name, each with the reason. */
  readonly skip?: Readonly<Record<string, string>>;
}

type ErrorClass = { isInstance(error: unknown): boolean; name: string };

function expectThrows(run: () => unknown, errorClass: ErrorClass): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${errorClass.name}`).toBeDefined();
  expect(errorClass.isInstance(caught), `expected ${errorClass.name}, got ${String(caught)}`).toBe(
    true,
  );
}

async function expectRejects(run: () => Promise<unknown>, errorClass: ErrorClass): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${errorClass.name}`).toBeDefined();
  expect(errorClass.isInstance(caught), `expected ${errorClass.name}, got ${String(caught)}`).toBe(
    true,
  );
}

/** Row `row` of a [rows, vocab] logits array. */
function rowOf(logits: Float32Array, row: number, vocab: number): Float32Array {
  return logits.subarray(row * vocab, (row + 1) * vocab);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index++) max = Math.max(max, Math.abs(a[index] - b[index]));
  return max;
}

const ids = (values: readonly number[]) => Int32Array.from(values);

/** Forwards `tokens` one at a time, committing each; returns every row's logits. */
async function oneByOne(sequence: Sequence, tokens: readonly number[]): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (const token of tokens) {
    const { logits } = await sequence.forward({ tokens: ids([token]) });
    rows.push(logits.slice());
    sequence.commit([0]);
  }
  return rows;
}

/** Path of row `row` from its root, as row indices. */
function pathTo(parents: readonly number[], row: number): number[] {
  const path: number[] = [];
  for (let current = row; current >= 0; current = parents[current]) path.unshift(current);
  return path;
}

/**
 * Registers the backend conformance suite with vitest. Call it at the top level of a test file.
 *
 * @example
 * runBackendConformance('onnx-cpu', { makeModel: () => createCpuBackend().load(folder) });
 */
export function runBackendConformance(name: string, options: BackendConformanceOptions): void {
  const tolerance = options.tolerance ?? 1e-4;
  const skip = options.skip ?? {};
  const check = (title: string, body: () => Promise<void>) => {
    const reason = skip[title];
    if (reason !== undefined) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };

  describe(`backend conformance: ${name}`, () => {
    let model: CausalLM;
    let vocab: number;
    let prompt: number[];
    /** Tokens that are not the prompt, for continuations and drafts. */
    let more: number[];

    beforeAll(async () => {
      model = await options.makeModel();
      vocab = model.info.vocabSize;
      const spread = (index: number) => (7 + index * 37) % vocab;
      prompt = options.prompt
        ? [...options.prompt]
        : Array.from({ length: 5 }, (_, index) => spread(index));
      more = Array.from({ length: 8 }, (_, index) => spread(index + 11));
    });
    afterAll(async () => {
      await model?.dispose();
    });

    check('forward does not commit', async () => {
      const sequence = model.createSequence();
      await sequence.forward({ tokens: ids(prompt) });
      expect(sequence.tokens).toEqual([]);
      sequence.commit([]);
      expect(sequence.tokens).toEqual([]);
    });

    check('a chain forward equals one-token-at-a-time forwards', async () => {
      const chain = model.createSequence();
      const { logits } = await chain.forward({ tokens: ids(prompt) });
      expect(logits.length).toBe(prompt.length * vocab);
      const single = model.createSequence();
      const rows = await oneByOne(single, prompt);
      rows.forEach((row, index) =>
        expect(maxAbsDiff(rowOf(logits, index, vocab), row)).toBeLessThan(tolerance),
      );
      expect(single.tokens).toEqual(prompt);
    });

    check(
      'committing a whole chain and continuing equals one forward over everything',
      async () => {
        const whole = model.createSequence();
        const { logits: all } = await whole.forward({
          tokens: ids([...prompt, ...more.slice(0, 3)]),
        });
        const split = model.createSequence();
        await split.forward({ tokens: ids(prompt) });
        split.commit(prompt.map((_, index) => index));
        expect(split.tokens).toEqual(prompt);
        const { logits: rest } = await split.forward({ tokens: ids(more.slice(0, 3)) });
        for (let index = 0; index < 3; index++) {
          expect(
            maxAbsDiff(rowOf(rest, index, vocab), rowOf(all, prompt.length + index, vocab)),
          ).toBeLessThan(tolerance);
        }
      },
    );

    check('committing part of a chain and continuing equals the chain', async () => {
      const sequence = model.createSequence();
      await sequence.forward({ tokens: ids(prompt) });
      sequence.commit([0, 1]);
      expect(sequence.tokens).toEqual(prompt.slice(0, 2));
      const { logits } = await sequence.forward({ tokens: ids(prompt.slice(2)) });
      const reference = model.createSequence();
      const { logits: expected } = await reference.forward({ tokens: ids(prompt) });
      for (let index = 2; index < prompt.length; index++) {
        expect(
          maxAbsDiff(rowOf(logits, index - 2, vocab), rowOf(expected, index, vocab)),
        ).toBeLessThan(tolerance);
      }
    });

    // 0 ─┬─ 1 ── 3 ── 5
    //    └─ 2 ── 4
    // 6 (a second root)
    const treeParents = [-1, 0, 0, 1, 2, 3, -1];

    check('tree forward rows equal per-path chain forwards', async () => {
      if (!model.capabilities.tree) return;
      const base = model.createSequence();
      await base.forward({ tokens: ids(prompt) });
      base.commit(prompt.map((_, index) => index));
      const treeTokens = more.slice(0, treeParents.length);
      const { logits } = await base.forward({ tokens: ids(treeTokens), parents: ids(treeParents) });
      expect(base.tokens).toEqual(prompt);
      for (let row = 0; row < treeParents.length; row++) {
        const path = pathTo(treeParents, row);
        const branch = base.fork();
        const { logits: chain } = await branch.forward({
          tokens: ids(path.map(index => treeTokens[index])),
        });
        expect(
          maxAbsDiff(rowOf(logits, row, vocab), rowOf(chain, path.length - 1, vocab)),
          `row ${row}`,
        ).toBeLessThan(tolerance);
        branch.dispose();
      }
    });

    check('committing a tree path and continuing equals the chain', async () => {
      if (!model.capabilities.tree) return;
      const treeTokens = more.slice(0, treeParents.length);
      const next = more[7];
      for (const path of [[0, 2, 4], [0, 1, 3, 5], [6], [0]]) {
        const sequence = model.createSequence();
        await sequence.forward({ tokens: ids(prompt) });
        sequence.commit(prompt.map((_, index) => index));
        await sequence.forward({ tokens: ids(treeTokens), parents: ids(treeParents) });
        sequence.commit(path);
        const pathTokens = path.map(index => treeTokens[index]);
        expect(sequence.tokens).toEqual([...prompt, ...pathTokens]);
        const { logits } = await sequence.forward({ tokens: ids([next]) });
        const reference = model.createSequence();
        const { logits: expected } = await reference.forward({
          tokens: ids([...prompt, ...pathTokens, next]),
        });
        expect(
          maxAbsDiff(logits, rowOf(expected, prompt.length + path.length, vocab)),
          `path ${path}`,
        ).toBeLessThan(tolerance);
      }
    });

    check('truncate then re-forward equals the original', async () => {
      const sequence = model.createSequence();
      const { logits: original } = await sequence.forward({ tokens: ids(prompt) });
      sequence.commit(prompt.map((_, index) => index));
      await sequence.forward({ tokens: ids(more.slice(0, 2)) });
      sequence.commit([0, 1]);
      sequence.truncate(2);
      expect(sequence.tokens).toEqual(prompt.slice(0, 2));
      const { logits } = await sequence.forward({ tokens: ids(prompt.slice(2)) });
      for (let index = 2; index < prompt.length; index++) {
        expect(
          maxAbsDiff(rowOf(logits, index - 2, vocab), rowOf(original, index, vocab)),
        ).toBeLessThan(tolerance);
      }
      sequence.truncate(0);
      expect(sequence.tokens).toEqual([]);
      const { logits: again } = await sequence.forward({ tokens: ids(prompt) });
      expect(maxAbsDiff(again, original)).toBeLessThan(tolerance);
    });

    check('a fork is independent of its original', async () => {
      const original = model.createSequence();
      await original.forward({ tokens: ids(prompt) });
      original.commit(prompt.map((_, index) => index));
      const fork = original.fork();
      expect(fork.tokens).toEqual(prompt);
      const { logits: before } = await original.forward({ tokens: ids([more[0]]) });
      // Diverge both ways: the fork commits other tokens, the original truncates.
      await fork.forward({ tokens: ids(more.slice(1, 4)) });
      fork.commit([0, 1, 2]);
      expect(original.tokens).toEqual(prompt);
      const { logits: after } = await original.forward({ tokens: ids([more[0]]) });
      expect(maxAbsDiff(before, after)).toBe(0);
      original.truncate(1);
      expect(fork.tokens).toEqual([...prompt, ...more.slice(1, 4)]);
      const { logits: forkNext } = await fork.forward({ tokens: ids([more[4]]) });
      const reference = model.createSequence();
      const { logits: expected } = await reference.forward({
        tokens: ids([...prompt, ...more.slice(1, 5)]),
      });
      expect(maxAbsDiff(forkNext, rowOf(expected, prompt.length + 3, vocab))).toBeLessThan(
        tolerance,
      );
      // A fork taken right after a forward can commit that forward on its own.
      await original.forward({ tokens: ids([more[5]]) });
      const late = original.fork();
      late.commit([0]);
      expect(late.tokens).toEqual([prompt[0], more[5]]);
      expect(original.tokens).toEqual([prompt[0]]);
    });

    check('sequences forwarded concurrently give the same results as one at a time', async () => {
      const sequences = [0, 1, 2].map(() => model.createSequence());
      const inputs = [prompt, more.slice(0, 3), [...more.slice(3, 5), ...prompt]];
      const together = await Promise.all(
        sequences.map((sequence, index) => sequence.forward({ tokens: ids(inputs[index]) })),
      );
      for (let index = 0; index < inputs.length; index++) {
        const { logits } = await model.createSequence().forward({ tokens: ids(inputs[index]) });
        expect(maxAbsDiff(together[index].logits, logits)).toBe(0);
      }
    });

    check('forward validates its input', async () => {
      const sequence = model.createSequence();
      await expectRejects(() => sequence.forward({ tokens: ids([]) }), InvalidArgumentError);
      await expectRejects(() => sequence.forward({ tokens: ids([vocab]) }), InvalidArgumentError);
      await expectRejects(() => sequence.forward({ tokens: ids([-1]) }), InvalidArgumentError);
      await expectRejects(
        () => sequence.forward({ tokens: ids([1, 2]), parents: ids([-1, 1]) }),
        InvalidArgumentError,
      );
      await expectRejects(
        () => sequence.forward({ tokens: ids([1, 2]), parents: ids([-1]) }),
        InvalidArgumentError,
      );
      const tooLong = new Int32Array(model.info.contextLength + 1).fill(prompt[0]);
      await expectRejects(() => sequence.forward({ tokens: tooLong }), ContextLengthError);
      expect(sequence.tokens).toEqual([]);
    });

    check('commit accepts only one root-to-node path of the last forward', async () => {
      const sequence = model.createSequence();
      expectThrows(() => sequence.commit([0]), InvalidArgumentError);
      await sequence.forward({ tokens: ids(prompt.slice(0, 3)) });
      expectThrows(() => sequence.commit([1]), InvalidArgumentError);
      expectThrows(() => sequence.commit([0, 2]), InvalidArgumentError);
      expectThrows(() => sequence.commit([0, 1, 2, 3]), InvalidArgumentError);
      sequence.commit([0, 1]);
      expectThrows(() => sequence.commit([0]), InvalidArgumentError);
      expectThrows(() => sequence.truncate(3), InvalidArgumentError);
      expectThrows(() => sequence.truncate(-1), InvalidArgumentError);
      expect(sequence.tokens).toEqual(prompt.slice(0, 2));
    });

    check('capabilities are honest', async () => {
      const { capabilities, info } = model;
      const sequence = model.createSequence();
      const tree = { tokens: ids(more.slice(0, 3)), parents: ids([-1, 0, 0]) };
      if (capabilities.tree) await sequence.forward(tree);
      else await expectRejects(() => sequence.forward(tree), UnsupportedCapabilityError);
      if (capabilities.hiddenStates) {
        const { hidden } = await sequence.forward({ tokens: ids(prompt), hidden: true });
        expect(hidden?.length).toBe(prompt.length * info.hiddenSize);
        const { hidden: none } = await sequence.forward({ tokens: ids(prompt) });
        expect(none).toBeUndefined();
      } else {
        await expectRejects(
          () => sequence.forward({ tokens: ids(prompt), hidden: true }),
          UnsupportedCapabilityError,
        );
      }
      if (capabilities.layerSkip) {
        const { logits: full } = await sequence.forward({ tokens: ids(prompt) });
        const { logits: noSkip } = await sequence.forward({ tokens: ids(prompt), skipLayers: [] });
        expect(maxAbsDiff(full, noSkip)).toBe(0);
        const { logits: skipped } = await sequence.forward({
          tokens: ids(prompt),
          skipLayers: [info.numLayers - 1],
        });
        expect(maxAbsDiff(full, skipped)).toBeGreaterThan(0);
        await expectRejects(
          () => sequence.forward({ tokens: ids(prompt), skipLayers: [info.numLayers] }),
          InvalidArgumentError,
        );
      } else {
        await expectRejects(
          () => sequence.forward({ tokens: ids(prompt), skipLayers: [0] }),
          UnsupportedCapabilityError,
        );
      }
      expect(typeof capabilities.backendId).toBe('string');
    });

    check(
      'an aborted forward rejects with AbortedError and leaves the sequence usable',
      async () => {
        const sequence = model.createSequence();
        const aborted = new AbortController();
        aborted.abort('stop');
        await expectRejects(
          () => sequence.forward({ tokens: ids(prompt) }, { signal: aborted.signal }),
          AbortedError,
        );
        // Aborted right after the call: wherever the forward is (queued, running), it rejects.
        const soon = new AbortController();
        const pending = sequence.forward({ tokens: ids(prompt) }, { signal: soon.signal });
        soon.abort('stop');
        await expectRejects(() => pending, AbortedError);
        // Aborted while another forward holds the model: it rejects without waiting for its turn.
        const other = model.createSequence();
        const busy = other.forward({ tokens: ids(prompt) });
        const queued = new AbortController();
        const waiting = sequence.forward({ tokens: ids(prompt) }, { signal: queued.signal });
        queued.abort('stop');
        await expectRejects(() => waiting, AbortedError);
        await busy;
        expectThrows(() => sequence.commit([0]), InvalidArgumentError); // nothing to commit
        const { logits } = await sequence.forward({ tokens: ids(prompt) });
        const { logits: expected } = await model.createSequence().forward({ tokens: ids(prompt) });
        expect(maxAbsDiff(logits, expected)).toBe(0);
      },
    );

    check('a disposed sequence throws DisposedError', async () => {
      const sequence = model.createSequence();
      await sequence.forward({ tokens: ids(prompt) });
      const fork = sequence.fork();
      sequence.dispose();
      sequence.dispose(); // idempotent
      await expectRejects(() => sequence.forward({ tokens: ids(prompt) }), DisposedError);
      expectThrows(() => sequence.commit([0]), DisposedError);
      expectThrows(() => sequence.truncate(0), DisposedError);
      expectThrows(() => sequence.fork(), DisposedError);
      fork.commit([0]); // forks live on
      expect(fork.tokens).toEqual([prompt[0]]);
    });

    check('a disposed model throws DisposedError from its sequences', async () => {
      const own = await options.makeModel();
      const sequence = own.createSequence();
      await sequence.forward({ tokens: ids(prompt) });
      const inFlight = sequence.forward({ tokens: ids(prompt) });
      await own.dispose();
      await inFlight.catch(error => expect(DisposedError.isInstance(error)).toBe(true));
      expectThrows(() => own.createSequence(), DisposedError);
      await expectRejects(() => sequence.forward({ tokens: ids(prompt) }), DisposedError);
      expectThrows(() => sequence.commit([0]), DisposedError);
      await own.dispose(); // idempotent
    });

    if (options.makePlainModel) {
      const makePlainModel = options.makePlainModel;
      check('a plain export serves chains like the full one and refuses trees', async () => {
        const plain = await makePlainModel();
        try {
          expect(plain.capabilities.tree).toBe(false);
          const sequence = plain.createSequence();
          const { logits } = await sequence.forward({ tokens: ids(prompt) });
          const { logits: expected } = await model
            .createSequence()
            .forward({ tokens: ids(prompt) });
          expect(maxAbsDiff(logits, expected)).toBeLessThan(tolerance);
          sequence.commit([0, 1, 2]);
          const { logits: rest } = await sequence.forward({ tokens: ids(prompt.slice(3)) });
          expect(maxAbsDiff(rest, expected.subarray(3 * vocab))).toBeLessThan(tolerance);
          let caught: unknown;
          try {
            await sequence.forward({ tokens: ids([1, 2]), parents: ids([-1, -1]) });
          } catch (error) {
            caught = error;
          }
          expect(UnsupportedCapabilityError.isInstance(caught)).toBe(true);
          expect((caught as UnsupportedCapabilityError).capability).toBe('tree');
          expect((caught as Error).message).toMatch(/without --plain/);
          // An explicit chain through `parents` is still a chain.
          await sequence.forward({ tokens: ids([1, 2]), parents: ids([-1, 0]) });
        } finally {
          await plain.dispose();
        }
      });
    }
  });
}
