import {
  AbortedError,
  DisposedError,
  InvalidArgumentError,
  throwIfAborted,
  type Capabilities,
  type ForwardInput,
  type ForwardOptions,
  type ForwardOutput,
  type ModelInfo,
  type Sequence,
} from '@decodekit/core';
import { MASKED } from './attention-bias';
import { checkForward } from './check-forward';
import type { RunQueue } from './run-queue';

/**
 * Graphs with an attention bias keep the rows a commit drops as masked ("dead") cache slots instead of
 * copying the cache: every commit is then zero-copy, and the next forwards mask those slots out. The cache
 * is compacted (one gather) once more than this many slots are dead, so a cache is never longer than the
 * context plus this many slots (engines size their `attention_mask` and bias buffers with it).
 */
export const MAX_DEAD_SLOTS = 48;

/** One forward as the ledger hands it to the engine: what to run, after which slots of the cache. */
export interface LedgerForward {
  /** Tokens of the forward's rows (a private copy). [rows] */
  readonly tokens: Int32Array;
  /** Parents of the rows, or null for a chain. [rows] */
  readonly parents: Int32Array | null;
  /** Committed length (logical tokens) the forward runs after: row positions start here. */
  readonly pastLength: number;
  /** Cache slots the forward runs after (≥ pastLength when dead slots are kept). */
  readonly pastSlots: number;
  /** Additive mask of those slots (0 alive, MASKED dead), or null when every slot is alive. [pastSlots] */
  readonly pastMask: Float32Array | null;
  /** Whether the caller asked for `hidden_states`. */
  readonly hidden: boolean;
  /** Layers to skip (a private copy), or undefined. */
  readonly skipLayers: readonly number[] | undefined;
  /** `inputs_embeds` rows in place of token ids (a private copy), or null. [rows, hiddenSize] */
  readonly embeddings: Float32Array | null;
}

/** What an engine's run returns: host-side rows and the forward's cache (one reference, owned by the caller). */
export interface LedgerRunResult<TCache> {
  /** [rows, vocab] */
  readonly logits: Float32Array;
  /** [rows, hiddenSize], when asked for. */
  readonly hidden?: Float32Array;
  /** The `present.*` tensors: [1, H, pastSlots + rows, D] each. */
  readonly presents: TCache;
}

/**
 * What a {@link KvLedgerSequence} needs from its backend's engine. `TCache` is the backend's handle on one set of
 * KV tensors: immutable host tensors for CPU/wasm (retain and release do nothing; the garbage collector frees
 * them), reference-counted device blocks for WebGPU (the last release frees the GPU buffers).
 */
export interface KvLedgerEngine<TCache> {
  readonly info: ModelInfo;
  /** Read on every forward and commit: `tree` decides whether commits keep dead slots. */
  readonly capabilities: Capabilities;
  /** Runs one forward at a time; the ledger queues every run through it. */
  readonly queue: RunQueue;
  /** True once the model is disposed: queued forwards then reject. */
  readonly disposed: boolean;
  /** The cache of an empty sequence (never freed). */
  readonly emptyCache: TCache;
  /** Runs the graph on `forward` after `past` (called inside the queue; `past` stays the caller's). */
  run(past: TCache, forward: LedgerForward): Promise<LedgerRunResult<TCache>>;
  /**
   * A cache that keeps `positions` (in order) of `source` [1, H, sourceSlots, D]. Takes over the caller's
   * reference to `source`; may finish later (a device gather queued behind running forwards).
   */
  gather(source: TCache, sourceSlots: number, positions: Int32Array): TCache;
  /** A new reference to `cache`. */
  retain(cache: TCache): TCache;
  /** Drops one reference to `cache`. */
  release(cache: TCache): void;
}

/** The last forward of a sequence, kept until `commit`, `truncate` or the next forward. */
interface LastForward<TCache> extends LedgerForward {
  /** One reference to the forward's `present.*` tensors, owned by this record. */
  readonly presents: TCache;
}

function range(length: number): Int32Array {
  const positions = new Int32Array(length);
  for (let index = 0; index < length; index++) positions[index] = index;
  return positions;
}

/** The ledger's state, handed whole to a fork. */
interface LedgerState<TCache> {
  readonly committed: number[];
  /** One reference to the cache, owned by the sequence. */
  readonly cache: TCache;
  readonly last: LastForward<TCache> | null;
  /** Slots of `cache` (committed tokens plus dead slots). */
  readonly slots: number;
  /** Additive mask over the slots (0 alive, MASKED dead); null when every slot is alive. Never mutated. */
  readonly mask: Float32Array | null;
  /** Dead slots in `mask`. */
  readonly dead: number;
}

/**
 * The one Sequence of every ONNX backend (CPU, wasm, WebGPU): it keeps the KV-slot ledger — which cache slot
 * holds which committed token — and leaves running the graph and moving tensors to its engine.
 *
 * - A forward runs after every slot of the cache; dead slots are masked out through the attention bias.
 * - `commit` of a whole chain adopts the forward's `present` tensors as they are. On graphs with tree attention
 *   any other commit adopts them too and marks the rows it drops dead (zero-copy); more than
 *   {@link MAX_DEAD_SLOTS} dead slots trigger one gather that compacts the cache. Graphs without tree
 *   attention gather the kept rows at once.
 * - `truncate` gathers the alive slots of the kept prefix.
 * - `fork` shares the cache (and the last forward) by reference; both sides stay independent because cache
 *   tensors are never written in place.
 */
export class KvLedgerSequence<TCache> implements Sequence {
  private committed: number[];
  private cache: TCache;
  private last: LastForward<TCache> | null;
  private slots: number;
  private mask: Float32Array | null;
  private dead: number;
  /** Bumped by commit/truncate, so a forward that finishes after them does not become `last`. */
  private version = 0;
  private disposed = false;

  /** An empty sequence over `engine` (forks pass their state). */
  constructor(
    private readonly engine: KvLedgerEngine<TCache>,
    state?: LedgerState<TCache>,
  ) {
    this.committed = state?.committed ?? [];
    this.cache = state?.cache ?? engine.emptyCache;
    this.last = state?.last ?? null;
    this.slots = state?.slots ?? 0;
    this.mask = state?.mask ?? null;
    this.dead = state?.dead ?? 0;
  }

  /** Committed tokens (a live view: it changes when the sequence does). */
  get tokens(): readonly number[] {
    return this.committed;
  }

  async forward(input: ForwardInput, options?: ForwardOptions): Promise<ForwardOutput> {
    this.assertUsable();
    const signal = options?.signal;
    throwIfAborted(signal);
    const engine = this.engine;
    const pastLength = this.committed.length;
    const parents = checkForward(input, pastLength, engine.info, engine.capabilities);
    // This forward supersedes the previous one, even if it fails: commit() never keeps stale rows.
    this.dropLast();
    const version = this.version;
    // Private copies: the caller may reuse its arrays while the forward is queued or after it.
    const forward: LedgerForward = {
      tokens: input.tokens.slice(),
      parents: parents === null ? null : parents.slice(),
      pastLength,
      pastSlots: this.slots,
      pastMask: this.mask,
      hidden: input.hidden === true,
      skipLayers: input.skipLayers === undefined ? undefined : [...input.skipLayers],
      embeddings: input.embeddings === undefined ? null : input.embeddings.slice(),
    };
    // Retained now, before a later commit/truncate can release the cache this forward reads.
    const past = engine.retain(this.cache);
    let result: LedgerRunResult<TCache>;
    try {
      result = await engine.queue.run(async () => {
        if (engine.disposed) throw new DisposedError({ what: `The model ${engine.info.name}` });
        throwIfAborted(signal);
        return engine.run(past, forward);
      }, signal);
    } finally {
      engine.release(past);
    }
    // onnxruntime-node cannot interrupt a running session, so an abort during the run is reported here.
    if (signal?.aborted) {
      engine.release(result.presents);
      throw new AbortedError({ reason: signal.reason });
    }
    if (this.disposed) {
      engine.release(result.presents);
      throw new DisposedError({ what: 'Sequence' });
    }
    if (this.version === version) {
      this.dropLast();
      this.last = { ...forward, presents: result.presents };
    } else {
      engine.release(result.presents);
    }
    return result.hidden === undefined
      ? { logits: result.logits }
      : { logits: result.logits, hidden: result.hidden };
  }

  commit(rows: ArrayLike<number>): void {
    this.assertUsable();
    const last = this.last;
    const count = rows.length;
    if (count === 0) {
      this.dropLast();
      return;
    }
    if (last === null) {
      throw new InvalidArgumentError({
        argument: 'rows',
        message:
          'commit() keeps rows of the last forward(), and there is none to commit (call forward() first; each forward can be committed once).',
      });
    }
    const forwardRows = last.tokens.length;
    let expectedParent = -1;
    let isPrefix = true;
    for (let index = 0; index < count; index++) {
      const row = rows[index];
      if (!Number.isInteger(row) || row < 0 || row >= forwardRows) {
        throw new InvalidArgumentError({
          argument: 'rows',
          message: `row ${row} is not a row of the last forward (0..${forwardRows - 1}).`,
        });
      }
      const parent = last.parents === null ? row - 1 : last.parents[row];
      if (parent !== expectedParent) {
        throw new InvalidArgumentError({
          argument: 'rows',
          message: `rows must be one root-to-node path in order; row ${row}'s parent is ${parent}, not ${expectedParent}.`,
        });
      }
      if (row !== index) isPrefix = false;
      expectedParent = row;
    }
    const engine = this.engine;
    const { pastLength, pastSlots, pastMask } = last;
    const sourceLength = pastSlots + forwardRows;
    // The presents' reference moves from `last` to the cache (or to the gather that consumes it).
    this.last = null;
    if (isPrefix && count === forwardRows && pastMask === null) {
      // The whole chain: the forward's present tensors are exactly the next past, as in a minimal loop.
      this.replaceCache(last.presents);
      this.slots = sourceLength;
    } else if (engine.capabilities.tree) {
      // Keep every row and mask the dropped ones: zero-copy, compacted once enough slots are dead.
      const mask = new Float32Array(sourceLength);
      if (pastMask !== null) mask.set(pastMask.subarray(0, pastSlots));
      const kept = new Uint8Array(forwardRows);
      for (let index = 0; index < count; index++) kept[rows[index]] = 1;
      for (let row = 0; row < forwardRows; row++) if (!kept[row]) mask[pastSlots + row] = MASKED;
      this.dead = (pastMask === null ? 0 : this.dead) + forwardRows - count;
      this.replaceCache(last.presents);
      this.slots = sourceLength;
      this.mask = mask;
      if (this.dead > MAX_DEAD_SLOTS) this.compact(pastLength + count);
    } else {
      // No attention bias to mask with: gather the prefix and the kept rows now.
      const positions = range(pastLength + count);
      if (!isPrefix)
        for (let index = 0; index < count; index++)
          positions[pastLength + index] = pastLength + rows[index];
      this.replaceCache(engine.gather(last.presents, sourceLength, positions));
      this.slots = pastLength + count;
    }
    for (let index = 0; index < count; index++) this.committed.push(last.tokens[rows[index]]);
    this.version++;
  }

  truncate(length: number): void {
    this.assertUsable();
    const current = this.committed.length;
    if (!Number.isInteger(length) || length < 0 || length > current) {
      throw new InvalidArgumentError({
        argument: 'length',
        message: `must be an integer in [0, ${current}], got ${length}.`,
      });
    }
    if (length === current) return;
    this.compact(length);
    this.committed.length = length;
    this.dropLast();
    this.version++;
  }

  fork(): Sequence {
    this.assertUsable();
    const { engine, last } = this;
    return new KvLedgerSequence(engine, {
      committed: this.committed.slice(),
      cache: engine.retain(this.cache),
      last: last === null ? null : { ...last, presents: engine.retain(last.presents) },
      slots: this.slots,
      mask: this.mask,
      dead: this.dead,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropLast();
    this.engine.release(this.cache);
    this.cache = this.engine.emptyCache;
  }

  /** Keeps the alive slots of the first `count` committed tokens, with one gather; no slot is dead after. */
  private compact(count: number): void {
    const engine = this.engine;
    this.replaceCache(engine.gather(engine.retain(this.cache), this.slots, this.aliveSlots(count)));
    this.slots = count;
    this.mask = null;
    this.dead = 0;
  }

  /** Slot indices of the first `count` committed tokens. */
  private aliveSlots(count: number): Int32Array {
    const mask = this.mask;
    if (mask === null) return range(count);
    const positions = new Int32Array(count);
    for (let slot = 0, found = 0; found < count; slot++)
      if (mask[slot] === 0) positions[found++] = slot;
    return positions;
  }

  /** Makes `next` the cache (it carries its own reference) and releases the previous one. */
  private replaceCache(next: TCache): void {
    const previous = this.cache;
    this.cache = next;
    this.engine.release(previous);
  }

  private dropLast(): void {
    const last = this.last;
    this.last = null;
    if (last !== null) this.engine.release(last.presents);
  }

  private assertUsable(): void {
    if (this.disposed) throw new DisposedError({ what: 'Sequence' });
    if (this.engine.disposed)
      throw new DisposedError({ what: `The model ${this.engine.info.name} behind this sequence` });
  }
}
