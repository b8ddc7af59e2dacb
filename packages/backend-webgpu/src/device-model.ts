import {
  AbortedError,
  BackendError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  throwIfAborted,
  type Capabilities,
  type ForwardInput,
  type ForwardOptions,
  type ForwardOutput,
  type ModelInfo,
  type Sequence,
} from '@decodekit/core';
import { MASKED, RunQueue, fillAttentionBias, fillDepths } from '@decodekit/backend-onnx/engine';
import { checkForward } from '@decodekit/backend-onnx/engine';
import { buildGatherGraph, gatherInputName, gatherOutputName } from './gather-graph';
import { KvBlock, type DeviceTensor } from './kv-block';

/** The part of an ONNX Runtime session the device engine uses (onnxruntime-node and onnxruntime-web). */
export interface DeviceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly (
    | { readonly name: string; readonly isTensor: false }
    | {
        readonly name: string;
        readonly isTensor: true;
        readonly shape: ReadonlyArray<number | string>;
      }
  )[];
  /** Runs the graph and returns every output (decodekit always fetches all of them; see `run`). */
  run(
    feeds: Record<string, DeviceTensor>,
  ): Promise<Readonly<Record<string, DeviceTensor & { data?: unknown }>>>;
  release(): Promise<void>;
}

/** The `ort` namespace the device engine is built on. */
export interface DeviceRuntime {
  readonly InferenceSession: {
    create(
      model: Uint8Array | string,
      options?: Readonly<Record<string, unknown>>,
    ): Promise<DeviceSession>;
  };
  readonly Tensor: new (
    type: 'float32' | 'int64' | 'bool',
    data: Float32Array | BigInt64Array | Uint8Array,
    dims: readonly number[],
  ) => DeviceTensor;
}

/** Device↔host traffic of one model, for reports and tests. */
export interface DeviceStats {
  /** Forwards run. */
  forwards: number;
  /** Bytes copied from the device to the host by forwards: the logits (and `hidden_states`) rows. */
  readbackBytes: number;
  /** Device-side cache gathers (compactions, truncations, commits of plain graphs). */
  gathers: number;
  /** KV tensors disposed (device buffers released). */
  disposedTensors: number;
  /** KV blocks alive now (each holds 2 × layers device tensors). */
  liveBlocks: number;
  /** Where the last forward's `present.*` tensors live ('gpu-buffer' when the cache stays on the device). */
  kvLocation: string;
}

/** Names and layout of the graph, from the session (already checked by backend-onnx's loader). */
export interface DeviceGraph {
  readonly pastNames: readonly string[];
  readonly presentNames: readonly string[];
  readonly hasAttentionMask: boolean;
  readonly hasPositionIds: boolean;
  readonly hasAttentionBias: boolean;
  readonly hasSkipLayers: boolean;
  /** Merged decoders (optimum): the bool [1] `use_cache_branch` input, fed true once the cache holds tokens. */
  readonly hasUseCacheBranch?: boolean;
  /** `num_logits_to_keep` / `logits_to_keep` (transformers.js exports): fed the row count, so every row gets logits. */
  readonly logitsToKeep?: string;
  readonly kvHeads: number;
  readonly headDim: number;
}

/**
 * Masked ("dead") cache slots tolerated before one device-side gather compacts the cache. Same policy as
 * backend-onnx: commits on tree graphs keep the whole forward and mask the dropped rows.
 */
export const MAX_DEAD_SLOTS = 48;

const noop = () => undefined;

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim();
}

function range(length: number): Int32Array {
  const positions = new Int32Array(length);
  for (let index = 0; index < length; index++) positions[index] = index;
  return positions;
}

interface RunResult {
  readonly logits: Float32Array;
  readonly hidden?: Float32Array;
  readonly presents: KvBlock;
}

/**
 * One loaded graph whose KV cache lives on the device: the forward's `present.*` outputs stay where the execution
 * provider wrote them (`preferredOutputLocation: 'gpu-buffer'`) and are fed back as the next `past_key_values.*`;
 * only the logits (and `hidden_states`) rows come back to the host. Cache tensors are shared between forks and
 * reference-counted (KvBlock); gathers run a small Gather graph on the same provider.
 */
export class DeviceEngine {
  readonly queue = new RunQueue();
  readonly empty: KvBlock;
  readonly stats: DeviceStats = {
    forwards: 0,
    readbackBytes: 0,
    gathers: 0,
    disposedTensors: 0,
    liveBlocks: 0,
    kvLocation: 'none',
  };
  disposed = false;

  private readonly live = new Set<KvBlock>();
  private gatherSession?: Promise<DeviceSession>;
  private readonly ones: BigInt64Array;
  private readonly zeros: Float32Array;
  private bias = new Float32Array(0);
  private readonly depths: Int32Array;
  private readonly noSkip?: DeviceTensor;
  private readonly presentSet: ReadonlySet<string>;

  constructor(
    readonly ort: DeviceRuntime,
    readonly session: DeviceSession,
    readonly graph: DeviceGraph,
    readonly info: ModelInfo,
    readonly capabilities: Capabilities,
    /** Session options for the gather graph (same execution provider as the model). */
    private readonly gatherOptions: Readonly<Record<string, unknown>>,
  ) {
    const context = info.contextLength;
    this.ones = new BigInt64Array(context + MAX_DEAD_SLOTS + 1).fill(1n);
    this.zeros = new Float32Array(graph.hasAttentionBias ? context + MAX_DEAD_SLOTS + 1 : 0);
    this.depths = new Int32Array(context);
    const layers = graph.pastNames.length / 2;
    if (graph.hasSkipLayers) this.noSkip = new ort.Tensor('bool', new Uint8Array(layers), [layers]);
    const empty = new ort.Tensor('float32', new Float32Array(0), [
      1,
      graph.kvHeads,
      0,
      graph.headDim,
    ]);
    this.empty = new KvBlock(
      graph.pastNames.map(() => empty),
      undefined,
      false,
    );
    this.presentSet = new Set(graph.presentNames);
  }

  /** A KV block that the engine tracks, so that disposing the model frees what sequences still hold. */
  private track(tensors: readonly DeviceTensor[]): KvBlock {
    const block = new KvBlock(tensors, freed => {
      this.live.delete(freed);
      this.stats.disposedTensors += freed.tensors.length;
      this.stats.liveBlocks = this.live.size;
    });
    this.live.add(block);
    this.stats.liveBlocks = this.live.size;
    return block;
  }

  /** Runs the graph on `tokens` after `past` (inside the queue: it fills the shared input buffers). */
  async run(
    past: KvBlock,
    pastLength: number,
    pastSlots: number,
    pastMask: Float32Array | null,
    tokens: Int32Array,
    parents: Int32Array | null,
    hidden: boolean,
    skipLayers: readonly number[] | undefined,
  ): Promise<RunResult> {
    const { ort, graph } = this;
    const rows = tokens.length;
    const total = pastSlots + rows;
    const feeds: Record<string, DeviceTensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, rows]),
    };
    if (graph.hasAttentionMask)
      feeds.attention_mask = new ort.Tensor('int64', this.ones.subarray(0, total), [1, total]);
    const depths = this.depths.subarray(0, rows);
    if (graph.hasAttentionBias) {
      let bias: Float32Array;
      if (rows === 1 && pastMask === null) {
        bias = this.zeros.subarray(0, total);
        depths[0] = 0;
      } else {
        const size = rows * total;
        if (this.bias.length < size)
          this.bias = new Float32Array(Math.max(size, this.bias.length * 2));
        bias = this.bias.subarray(0, size);
        fillAttentionBias(bias, depths, pastSlots, parents, pastMask);
      }
      feeds.attention_bias = new ort.Tensor('float32', bias, [1, 1, rows, total]);
    } else {
      fillDepths(depths, parents);
    }
    if (graph.hasPositionIds) {
      const positions = new BigInt64Array(rows);
      for (let row = 0; row < rows; row++) positions[row] = BigInt(pastLength + depths[row]);
      feeds.position_ids = new ort.Tensor('int64', positions, [1, rows]);
    }
    if (graph.logitsToKeep !== undefined)
      feeds[graph.logitsToKeep] = new ort.Tensor('int64', BigInt64Array.of(BigInt(rows)), []);
    if (graph.hasUseCacheBranch)
      feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(pastSlots > 0 ? 1 : 0), [1]);
    if (graph.hasSkipLayers) {
      let skip = this.noSkip as DeviceTensor;
      if (skipLayers !== undefined && skipLayers.length > 0) {
        const layers = graph.pastNames.length / 2;
        const flags = new Uint8Array(layers);
        for (const layer of skipLayers) flags[layer] = 1;
        skip = new ort.Tensor('bool', flags, [layers]);
      }
      feeds.skip_layers = skip;
    }
    const pastNames = graph.pastNames;
    for (let index = 0; index < pastNames.length; index++)
      feeds[pastNames[index]] = past.tensors[index];

    let outputs: Readonly<Record<string, DeviceTensor & { data?: unknown }>>;
    try {
      // Every output is fetched: onnxruntime-node 1.30 binds outputs by fetch index when outputs have a preferred
      // location, so a subset of fetches would put the wrong tensors on the device.
      outputs = await this.session.run(feeds);
    } catch (error) {
      throw new BackendError({
        message: `ONNX Runtime failed to run ${this.info.name} (${this.capabilities.backendId}): ${messageOf(error)}`,
        cause: error,
      });
    }
    this.stats.forwards++;
    const presents = this.track(graph.presentNames.map(name => outputs[name]));
    this.stats.kvLocation = presents.tensors[0]?.location ?? 'cpu';
    for (const [name, output] of Object.entries(outputs)) {
      if (this.presentSet.has(name)) continue;
      if (output.location !== undefined && output.location !== 'cpu') output.dispose?.();
      else if (ArrayBuffer.isView(output.data)) this.stats.readbackBytes += output.data.byteLength;
    }
    const logits = outputs.logits?.data;
    if (!(logits instanceof Float32Array) || logits.length !== rows * this.info.vocabSize) {
      presents.release();
      throw new ModelFormatError({
        path: 'onnx/model.onnx',
        message:
          `"logits" came back with ${logits instanceof Float32Array ? logits.length / rows : 'no'} columns per row ` +
          `on the host, but config.json says vocab_size ${this.info.vocabSize}. Re-export the folder.`,
      });
    }
    return {
      logits,
      hidden: hidden ? (outputs.hidden_states?.data as Float32Array) : undefined,
      presents,
    };
  }

  /**
   * A new block that keeps `positions` (in order) of `source`'s tensors [1, H, slots, D], gathered on the device.
   * Takes over one reference to the source block (released when the gather is done) and runs in the queue, so a
   * commit can schedule it synchronously and the next forward waits for it.
   */
  gatherLater(source: Promise<KvBlock>, positions: Int32Array): Promise<KvBlock> {
    const task = this.queue.run(async () => {
      const block = await source;
      try {
        if (this.disposed) throw new DisposedError({ what: `The model ${this.info.name}` });
        if (positions.length === 0) return this.empty;
        return await this.gather(block, positions);
      } finally {
        block.release();
      }
    });
    task.catch(noop);
    return task;
  }

  private async gather(block: KvBlock, positions: Int32Array): Promise<KvBlock> {
    const { ort } = this;
    const count = block.tensors.length;
    this.gatherSession ??= ort.InferenceSession.create(buildGatherGraph(count), {
      ...this.gatherOptions,
      preferredOutputLocation: 'gpu-buffer',
    });
    const feeds: Record<string, DeviceTensor> = {
      indices: new ort.Tensor('int64', BigInt64Array.from(positions, BigInt), [positions.length]),
    };
    for (let index = 0; index < count; index++)
      feeds[gatherInputName(index)] = block.tensors[index];
    let outputs: Readonly<Record<string, DeviceTensor>>;
    try {
      outputs = await (await this.gatherSession).run(feeds);
    } catch (error) {
      throw new BackendError({
        message: `ONNX Runtime failed to gather the KV cache of ${this.info.name} on the device (${this.capabilities.backendId}): ${messageOf(error)}`,
        cause: error,
      });
    }
    this.stats.gathers++;
    return this.track(
      Array.from({ length: count }, (_, index) => outputs[gatherOutputName(index)]),
    );
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.drain().catch(noop);
    // free() removes the block from `live`: iterate over a copy.
    for (const block of Array.from(this.live)) block.free();
    const gather = this.gatherSession;
    this.gatherSession = undefined;
    if (gather) await (await gather.catch(() => undefined))?.release().catch(noop);
  }
}

/** The last forward of a sequence, kept until `commit`, `truncate` or the next forward. */
interface LastForward {
  readonly tokens: Int32Array;
  readonly parents: Int32Array | null;
  readonly pastLength: number;
  readonly pastSlots: number;
  readonly pastMask: Float32Array | null;
  /** One reference to the forward's `present.*` tensors, owned by this record. */
  readonly presents: KvBlock;
}

/**
 * A Sequence whose KV cache stays on the device. It owns one reference to its cache block (a promise: a commit
 * that needs a gather schedules it and returns at once) and one to its last forward's presents.
 */
export class DeviceSequence implements Sequence {
  private committed: number[];
  private cache: Promise<KvBlock>;
  private last: LastForward | null;
  private slots: number;
  private mask: Float32Array | null;
  private dead: number;
  private version = 0;
  private disposed = false;

  constructor(
    private readonly engine: DeviceEngine,
    committed: number[] = [],
    cache: Promise<KvBlock> = Promise.resolve(engine.empty),
    last: LastForward | null = null,
    layout: { slots: number; mask: Float32Array | null; dead: number } = {
      slots: committed.length,
      mask: null,
      dead: 0,
    },
  ) {
    this.committed = committed;
    this.cache = cache;
    cache.catch(noop);
    this.last = last;
    this.slots = layout.slots;
    this.mask = layout.mask;
    this.dead = layout.dead;
  }

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
    const wantHidden = input.hidden === true;
    this.dropLast();
    const version = this.version;
    const pastSlots = this.slots;
    const pastMask = this.mask;
    // Retained now, before any later commit/truncate can release the cache this forward reads.
    const held = this.cache.then(block => block.retain());
    held.catch(noop);
    const tokens = input.tokens.slice();
    const rowParents = parents === null ? null : parents.slice();
    const skipLayers = input.skipLayers === undefined ? undefined : [...input.skipLayers];
    let result: RunResult;
    try {
      result = await engine.queue.run(async () => {
        const past = await held;
        if (engine.disposed) throw new DisposedError({ what: `The model ${engine.info.name}` });
        throwIfAborted(signal);
        return engine.run(
          past,
          pastLength,
          pastSlots,
          pastMask,
          tokens,
          rowParents,
          wantHidden,
          skipLayers,
        );
      }, signal);
    } finally {
      held.then(block => block.release(), noop);
    }
    if (signal?.aborted) {
      result.presents.release();
      throw new AbortedError({ reason: signal.reason });
    }
    if (this.disposed) {
      result.presents.release();
      throw new DisposedError({ what: 'Sequence' });
    }
    if (this.version === version) {
      this.dropLast();
      this.last = {
        tokens,
        parents: rowParents,
        pastLength,
        pastSlots,
        pastMask,
        presents: result.presents,
      };
    } else {
      result.presents.release();
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
    const { pastLength, pastSlots, pastMask } = last;
    const sourceLength = pastSlots + forwardRows;
    // The presents' reference moves from `last` to the cache (or to the gather that consumes them).
    this.last = null;
    const presents = Promise.resolve(last.presents);
    if (isPrefix && count === forwardRows && pastMask === null) {
      this.replaceCache(presents);
      this.slots = sourceLength;
    } else if (this.engine.capabilities.tree) {
      const mask = new Float32Array(sourceLength);
      if (pastMask !== null) mask.set(pastMask.subarray(0, pastSlots));
      const kept = new Uint8Array(forwardRows);
      for (let index = 0; index < count; index++) kept[rows[index]] = 1;
      for (let row = 0; row < forwardRows; row++) if (!kept[row]) mask[pastSlots + row] = MASKED;
      this.dead = (pastMask === null ? 0 : this.dead) + forwardRows - count;
      this.replaceCache(presents);
      this.slots = sourceLength;
      this.mask = mask;
      if (this.dead > MAX_DEAD_SLOTS) {
        const alive = this.slots - this.dead;
        this.replaceCache(this.engine.gatherLater(this.retainedCache(), this.aliveSlots(alive)));
        this.slots = alive;
        this.mask = null;
        this.dead = 0;
      }
    } else {
      const positions = isPrefix ? range(pastLength + count) : new Int32Array(pastLength + count);
      if (!isPrefix) {
        for (let index = 0; index < pastLength; index++) positions[index] = index;
        for (let index = 0; index < count; index++)
          positions[pastLength + index] = pastLength + rows[index];
      }
      this.replaceCache(this.engine.gatherLater(presents, positions));
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
    this.replaceCache(this.engine.gatherLater(this.retainedCache(), this.aliveSlots(length)));
    this.slots = length;
    this.mask = null;
    this.dead = 0;
    this.committed.length = length;
    this.dropLast();
    this.version++;
  }

  fork(): Sequence {
    this.assertUsable();
    const last =
      this.last === null ? null : { ...this.last, presents: this.last.presents.retain() };
    return new DeviceSequence(this.engine, this.committed.slice(), this.retainedCache(), last, {
      slots: this.slots,
      mask: this.mask,
      dead: this.dead,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropLast();
    this.cache.then(block => block.release(), noop);
  }

  /** A new reference to the current cache block. */
  private retainedCache(): Promise<KvBlock> {
    const retained = this.cache.then(block => block.retain());
    retained.catch(noop);
    return retained;
  }

  /** Makes `next` the cache (it carries its own reference) and releases the previous one. */
  private replaceCache(next: Promise<KvBlock>): void {
    const previous = this.cache;
    this.cache = next;
    next.catch(noop);
    previous.then(block => block.release(), noop);
  }

  private dropLast(): void {
    const last = this.last;
    this.last = null;
    last?.presents.release();
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

  private assertUsable(): void {
    if (this.disposed) throw new DisposedError({ what: 'Sequence' });
    if (this.engine.disposed)
      throw new DisposedError({ what: `The model ${this.engine.info.name} behind this sequence` });
  }
}
