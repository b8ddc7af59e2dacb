import {
  BackendError,
  DisposedError,
  ModelFormatError,
  type Capabilities,
  type ModelInfo,
} from '@decodekit/core';
import {
  ForwardFeeds,
  RunQueue,
  hostFloats,
  runRowByRow,
  type KvLedgerEngine,
  type LedgerForward,
  type LedgerRunResult,
} from '@decodekit/backend-onnx/engine';
import type { OrtValueMetadata } from '@decodekit/backend-onnx/browser';
import { buildGatherGraph, gatherInputName, gatherOutputName } from './gather-graph';
import { KvBlock, type DeviceTensor } from './kv-block';

/** The part of an ONNX Runtime session the device engine uses (onnxruntime-node and onnxruntime-web). */
export interface DeviceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  readonly outputMetadata?: readonly OrtValueMetadata[];
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
    type: 'float32' | 'float16' | 'int64' | 'bool',
    data: Float32Array | Uint16Array | BigInt64Array | Uint8Array,
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
  /** Element type of the last forward's `present.*` tensors ('float16' caches stay float16 on the device). */
  kvType: string;
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
  /** Element type of the KV cache: float16 caches stay float16 on the device (only logits are widened). */
  readonly kvType: 'float32' | 'float16';
  /**
   * Which multi-row forwards the graph runs (backend-onnx's load-time probe); the others are served one row at a
   * time, as on the CPU backend.
   */
  readonly multiRow: { readonly prefill: boolean; readonly onCache: boolean };
}

const noop = () => undefined;

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim();
}

/**
 * A sequence's handle on device KV tensors: a block that may still be being gathered (commits schedule gathers
 * and return at once). Each handle carries one reference to its block.
 */
type DeviceCache = Promise<KvBlock>;

/** A handle on `block`, or on a block to come, that never reports an unhandled rejection. */
function handle(block: KvBlock | Promise<KvBlock>): DeviceCache {
  const cache = Promise.resolve(block);
  cache.catch(noop);
  return cache;
}

/**
 * One loaded graph whose KV cache lives on the device: the forward's `present.*` outputs stay where the execution
 * provider wrote them (`preferredOutputLocation: 'gpu-buffer'`) and are fed back as the next `past_key_values.*`;
 * only the logits (and `hidden_states`) rows come back to the host. Its sequences are backend-onnx's
 * KvLedgerSequences: cache tensors are shared between forks and reference-counted (KvBlock); gathers run a small
 * Gather graph on the same provider.
 */
export class DeviceEngine implements KvLedgerEngine<DeviceCache> {
  readonly queue = new RunQueue();
  readonly empty: KvBlock;
  readonly emptyCache: DeviceCache;
  readonly stats: DeviceStats = {
    forwards: 0,
    readbackBytes: 0,
    gathers: 0,
    disposedTensors: 0,
    liveBlocks: 0,
    kvLocation: 'none',
    kvType: 'none',
  };
  disposed = false;

  private readonly live = new Set<KvBlock>();
  private gatherSession?: Promise<DeviceSession>;
  /** Input buffers reused by every forward (filled inside the queue). */
  private readonly feeds: ForwardFeeds<DeviceTensor>;
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
    this.feeds = new ForwardFeeds(
      info.contextLength,
      graph.pastNames.length / 2,
      (type, data, dims) => new ort.Tensor(type, data, dims),
    );
    const empty = new ort.Tensor(
      graph.kvType,
      graph.kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0),
      [1, graph.kvHeads, 0, graph.headDim],
    );
    this.empty = new KvBlock(
      graph.pastNames.map(() => empty),
      undefined,
      false,
    );
    this.emptyCache = handle(this.empty);
    this.presentSet = new Set(graph.presentNames);
  }

  retain(cache: DeviceCache): DeviceCache {
    return handle(cache.then(block => block.retain()));
  }

  release(cache: DeviceCache): void {
    cache.then(block => block.release(), noop);
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

  /**
   * Runs the graph on a forward after `pastCache` (inside the queue: it fills the shared input buffers). Multi-row
   * forwards the graph cannot run (see {@link DeviceGraph.multiRow}) run one row at a time.
   */
  run(pastCache: DeviceCache, forward: LedgerForward): Promise<LedgerRunResult<DeviceCache>> {
    const { multiRow } = this.graph;
    if (
      forward.tokens.length === 1 ||
      (forward.pastSlots === 0 ? multiRow.prefill : multiRow.onCache)
    )
      return this.runOnce(pastCache, forward);
    return runRowByRow(
      {
        vocabSize: this.info.vocabSize,
        hiddenSize: this.info.hiddenSize,
        runOnce: (cache, row) => this.runOnce(cache, row),
        release: cache => this.release(cache),
      },
      pastCache,
      forward,
    );
  }

  private async runOnce(
    pastCache: DeviceCache,
    forward: LedgerForward,
  ): Promise<LedgerRunResult<DeviceCache>> {
    const past = await pastCache;
    const { graph } = this;
    const rows = forward.tokens.length;
    const feeds: Record<string, DeviceTensor> = {};
    this.feeds.fill(feeds, graph, forward);
    if (graph.logitsToKeep !== undefined)
      feeds[graph.logitsToKeep] = new this.ort.Tensor('int64', BigInt64Array.of(BigInt(rows)), []);
    if (graph.hasUseCacheBranch) {
      feeds.use_cache_branch = new this.ort.Tensor(
        'bool',
        Uint8Array.of(forward.pastSlots > 0 ? 1 : 0),
        [1],
      );
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
    this.stats.kvType = presents.tensors[0]?.type ?? 'none';
    for (const [name, output] of Object.entries(outputs)) {
      if (this.presentSet.has(name)) continue;
      if (output.location !== undefined && output.location !== 'cpu') output.dispose?.();
      else if (ArrayBuffer.isView(output.data)) this.stats.readbackBytes += output.data.byteLength;
    }
    // float16 logits are widened once, on the host; the KV cache stays float16 on the device.
    const logits = hostFloats(outputs.logits?.data);
    if (logits === undefined || logits.length !== rows * this.info.vocabSize) {
      presents.release();
      throw new ModelFormatError({
        path: 'onnx/model.onnx',
        message:
          `"logits" came back with ${logits === undefined ? 'no' : logits.length / rows} columns per row ` +
          `on the host, but config.json says vocab_size ${this.info.vocabSize}. Re-export the folder.`,
      });
    }
    return {
      logits,
      hidden: forward.hidden ? hostFloats(outputs.hidden_states?.data) : undefined,
      presents: handle(presents),
    };
  }

  /**
   * A new block that keeps `positions` (in order) of `source`'s tensors [1, H, slots, D], gathered on the device.
   * Takes over the reference `source` carries (released when the gather is done) and runs in the queue, so a
   * commit can schedule it synchronously and the next forward waits for it.
   */
  gather(source: DeviceCache, _sourceSlots: number, positions: Int32Array): DeviceCache {
    const task = this.queue.run(async () => {
      const block = await source;
      try {
        if (this.disposed) throw new DisposedError({ what: `The model ${this.info.name}` });
        if (positions.length === 0) return this.empty;
        return await this.gatherOnDevice(block, positions);
      } finally {
        block.release();
      }
    });
    task.catch(noop);
    return task;
  }

  private async gatherOnDevice(block: KvBlock, positions: Int32Array): Promise<KvBlock> {
    const { ort } = this;
    const count = block.tensors.length;
    this.gatherSession ??= ort.InferenceSession.create(buildGatherGraph(count, this.graph.kvType), {
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
