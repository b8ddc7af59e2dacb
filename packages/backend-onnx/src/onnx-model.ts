import { BackendError, ModelFormatError, type Capabilities, type ModelInfo } from '@decodekit/core';
import { hostFloats } from './float16';
import type { GraphIO } from './graph-io';
import { emptyCache, gatherCache } from './kv-cache';
import { ForwardFeeds } from './forward-feeds';
import type { KvLedgerEngine, LedgerForward } from './kv-ledger';
import { runRowByRow, type RowByRowEngine } from './row-by-row';
import type { OrtRuntime, OrtSession, OrtTensor } from './ort-runtime';
import { RunQueue } from './run-queue';

/** KV tensors of one forward or gather, in `GraphIO.pastNames` order: immutable and shared, never freed. */
type HostCache = readonly OrtTensor[];

interface RunResult {
  readonly logits: Float32Array;
  readonly hidden?: Float32Array;
  readonly presents: HostCache;
}

/**
 * Which multi-row forwards the graph runs correctly, found by {@link OnnxEngine.probe} at load. Some exports
 * trace fixed shapes (a prompt graph, or one new token on top of a cache); the engine serves those rows one
 * at a time instead, which gives the same logits.
 */
export interface MultiRowSupport {
  /** Several rows on an empty cache (a prompt). */
  readonly prefill: boolean;
  /** Several rows on top of a cache (verifying a draft). */
  readonly onCache: boolean;
  /** Why a kind of multi-row forward is served one row at a time, when one is. */
  readonly reason?: string;
}

/**
 * The first half of a split decoder pair (`decoder_model.onnx`): the graph the empty cache runs through,
 * with no past inputs. The with-past graph takes over from its presents.
 */
export interface FirstGraph {
  readonly session: OrtSession;
  readonly io: GraphIO;
}

/** The `inputs_embeds` variant of a graph (onnx/model_embeds.onnx): its embedding table and a lazy session. */
export interface EmbedsGraph {
  /** [vocab, hiddenSize] */
  readonly table: Float32Array;
  /** Opens the session (called once, on the first forward with embeddings). */
  open(): Promise<OrtSession>;
}

/**
 * One loaded decoder graph: the session, its discovered I/O, the input buffers every forward reuses and
 * the queue that runs one forward at a time. Its sequences are KvLedgerSequences over host tensors.
 */
export class OnnxEngine implements KvLedgerEngine<HostCache> {
  readonly queue = new RunQueue();
  capabilities: Capabilities;
  /** Set by {@link probe}; until then every multi-row forward is assumed to run. */
  multiRow: MultiRowSupport = { prefill: true, onCache: true };
  readonly emptyCache: HostCache;
  disposed = false;

  /** Input buffers reused by every forward (filled inside the queue, so never by two forwards at once). */
  private readonly feeds: ForwardFeeds<OrtTensor>;
  private readonly fetches: readonly string[];
  private readonly fetchesWithHidden: readonly string[];
  private readonly embeds?: EmbedsGraph;
  private embedsSession?: Promise<OrtSession>;
  private readonly first?: FirstGraph;
  private readonly logitsToKeep = new BigInt64Array(1);
  private readonly useCache: OrtTensor;
  private readonly noCache: OrtTensor;

  constructor(
    readonly ort: OrtRuntime,
    readonly session: OrtSession,
    readonly io: GraphIO,
    readonly info: ModelInfo,
    backendId: string,
    /** Given (even with `embeds` undefined) by backends that serve `forward({ embeddings })`. */
    embedding?: { readonly embeds?: EmbedsGraph },
    /** The graph that runs on an empty cache, for split decoder pairs. */
    first?: FirstGraph,
  ) {
    this.embeds = embedding?.embeds;
    this.first = first;
    this.useCache = new ort.Tensor('bool', Uint8Array.of(1), [1]);
    this.noCache = new ort.Tensor('bool', Uint8Array.of(0), [1]);
    this.capabilities = {
      tree: io.hasAttentionBias && io.hasPositionIds,
      hiddenStates: io.hasHiddenStates,
      layerSkip: io.hasSkipLayers,
      ...(embedding === undefined ? {} : { inputEmbeddings: this.embeds !== undefined }),
      backendId,
    };
    this.feeds = new ForwardFeeds(
      info.contextLength,
      io.numLayers,
      (type, data, dims) => new ort.Tensor(type, data, dims),
    );
    this.fetches = ['logits', ...io.presentNames];
    this.fetchesWithHidden = ['logits', 'hidden_states', ...io.presentNames];
    this.emptyCache = emptyCache(ort, io.shape, io.pastNames.length, io.kvType);
  }

  /**
   * Finds which multi-row forwards run, and run right, with five tiny forwards: the reference [a], [b], [c]
   * one token at a time, then [b, c] on the cache of [a] and [a, b, c] on an empty cache. Several rows on a
   * cache must match the reference to within float rounding (else a verified draft could differ from greedy
   * decoding); a prompt only has to run and be roughly right. What fails is served one row at a time. A graph
   * that cannot run one token, on an empty cache or on a cache, is refused with a ModelFormatError.
   */
  async probe(): Promise<MultiRowSupport> {
    const results: RunResult[] = [];
    try {
      return await this.probeRuns(results);
    } finally {
      // The probe's caches are dropped now (device tensors, e.g. WebGPU's, are freed only by dispose()).
      for (const result of results)
        for (const tensor of result.presents) (tensor as { dispose?: () => void }).dispose?.();
    }
  }

  private async probeRuns(results: RunResult[]): Promise<MultiRowSupport> {
    const vocab = this.info.vocabSize;
    const [a, b, c] = [1 % vocab, 2 % vocab, 3 % vocab];
    const attempt = async (
      past: readonly OrtTensor[],
      pastLength: number,
      tokens: Int32Array,
    ): Promise<RunResult | Error> => {
      try {
        const result = await this.runRows(past, pastLength, tokens, false, true);
        results.push(result);
        return result;
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    };
    const single = await attempt(this.emptyCache, 0, Int32Array.of(a));
    if (single instanceof Error) {
      throw new ModelFormatError({
        path: this.graphFile,
        message: `ONNX Runtime cannot run even one token through this graph: ${messageOf(single)}. The export is broken or needs inputs decodekit does not feed.`,
        cause: single,
      });
    }
    // One-row forwards are the reference: [b] then [c] on the cache of [a].
    const second = await attempt(single.presents, 1, Int32Array.of(b));
    const third =
      second instanceof Error ? second : await attempt(second.presents, 2, Int32Array.of(c));
    if (second instanceof Error || third instanceof Error) {
      const error = second instanceof Error ? second : (third as Error);
      throw new ModelFormatError({
        path: this.graphFile,
        message: `ONNX Runtime cannot run one token on top of a cache: ${messageOf(error)}. The export is broken or traced for a fixed length.`,
        cause: error,
      });
    }
    const reference = new Float32Array(3 * vocab);
    reference.set(single.logits.subarray(0, vocab));
    reference.set(second.logits.subarray(0, vocab), vocab);
    reference.set(third.logits.subarray(0, vocab), 2 * vocab);
    const reasons: string[] = [];
    const strict = this.io.logitsType === 'float16' ? 2e-2 : 1e-3;
    // Several tokens on a cache must give the logits of decoding one at a time: verifying a draft then
    // accepts exactly what greedy decoding would emit.
    const onCacheRun = await attempt(single.presents, 1, Int32Array.of(b, c));
    let onCache = !(onCacheRun instanceof Error);
    if (onCacheRun instanceof Error) {
      reasons.push(`several tokens on top of a cache fail (${messageOf(onCacheRun)})`);
    } else {
      const difference = relativeDifference(onCacheRun.logits, reference.subarray(vocab));
      if (difference > strict) {
        onCache = false;
        reasons.push(
          `several tokens on top of a cache give other logits than one token at a time (relative difference ${difference.toExponential(1)})`,
        );
      }
    }
    // A prompt runs in one forward unless that fails or is plainly wrong (a graph traced for one row); the
    // small differences of batch-dependent kernels (dynamic per-tensor quantization) are what every runtime
    // gives for a prompt.
    const prefillRun = await attempt(this.emptyCache, 0, Int32Array.of(a, b, c));
    let prefill = !(prefillRun instanceof Error);
    if (prefillRun instanceof Error) {
      reasons.push(`several tokens on an empty cache fail (${messageOf(prefillRun)})`);
    } else {
      const difference = relativeDifference(prefillRun.logits, reference);
      if (difference > PREFILL_TOLERANCE) {
        prefill = false;
        reasons.push(
          `a prompt of several tokens gives other logits than one token at a time (relative difference ${difference.toExponential(1)})`,
        );
      }
    }
    this.multiRow = {
      prefill,
      onCache,
      ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    };
    // Tree attention needs several rows in one forward; a graph that cannot run them serves chains only.
    if (!onCache && this.capabilities.tree)
      this.capabilities = { ...this.capabilities, tree: false };
    return this.multiRow;
  }

  /** Path of the graph in the folder, for error messages. */
  get graphFile(): string {
    return this.io.file ?? 'onnx/model.onnx';
  }

  /** The `inputs_embeds` session, opened on first use (inside the queue). */
  private async embedsRunner(): Promise<OrtSession> {
    const embeds = this.embeds as EmbedsGraph;
    this.embedsSession ??= embeds.open().catch(error => {
      this.embedsSession = undefined;
      throw error;
    });
    return this.embedsSession;
  }

  /**
   * Runs the graph on a forward after `past` (already validated). Fills the shared input buffers, so it must
   * run inside the queue. Multi-row forwards the graph cannot run (see {@link probe}) run one row at a time.
   */
  async run(past: HostCache, forward: LedgerForward): Promise<RunResult> {
    const multiRow = forward.pastSlots === 0 ? this.multiRow.prefill : this.multiRow.onCache;
    if (forward.tokens.length === 1 || multiRow) return this.runOnce(past, forward);
    const rows: RowByRowEngine<HostCache> = {
      vocabSize: this.info.vocabSize,
      hiddenSize: this.info.hiddenSize,
      runOnce: (cache, row) => this.runOnce(cache, row),
      release: () => undefined, // host tensors are garbage-collected
    };
    return runRowByRow(rows, past, forward);
  }

  /** One forward of a chain on an unmasked cache (the probe's runs). */
  private runRows(
    past: HostCache,
    pastLength: number,
    tokens: Int32Array,
    hidden: boolean,
    quiet: boolean,
  ): Promise<RunResult> {
    const forward: LedgerForward = {
      tokens,
      parents: null,
      pastLength,
      pastSlots: pastLength,
      pastMask: null,
      hidden,
      skipLayers: undefined,
      embeddings: null,
    };
    return this.runOnce(past, forward, quiet);
  }

  private async runOnce(
    past: HostCache,
    forward: LedgerForward,
    quiet = false,
  ): Promise<RunResult> {
    const { tokens, hidden, pastSlots, embeddings } = forward;
    const { ort } = this;
    const rows = tokens.length;
    const feeds: Record<string, OrtTensor> = {};
    // Split pairs run the empty cache through decoder_model.onnx, which has no past inputs.
    const first = pastSlots === 0 ? this.first : undefined;
    const io = first?.io ?? this.io;
    let session = first?.session ?? this.session;
    if (embeddings !== null) {
      // Same I/O and KV layout as the default graph, with inputs_embeds in place of input_ids.
      session = await this.embedsRunner();
      feeds.inputs_embeds = new ort.Tensor('float32', embeddings, [1, rows, this.info.hiddenSize]);
    }
    this.feeds.fill(feeds, io, forward, embeddings === null);
    if (io.logitsToKeep !== undefined) {
      this.logitsToKeep[0] = BigInt(rows);
      feeds[io.logitsToKeep] = new ort.Tensor('int64', this.logitsToKeep, []);
    }
    if (io.hasUseCacheBranch) feeds.use_cache_branch = pastSlots > 0 ? this.useCache : this.noCache;
    if (first === undefined) {
      const pastNames = io.pastNames;
      for (let index = 0; index < pastNames.length; index++) feeds[pastNames[index]] = past[index];
    }

    let outputs: Readonly<Record<string, OrtTensor>>;
    try {
      // The probe (quiet) fetches every output: backends that keep outputs on a device (WebGPU's preferred
      // output locations) bind them by fetch index in onnxruntime-node 1.30, so a subset would misplace them.
      const fetches = quiet ? session.outputNames : hidden ? this.fetchesWithHidden : this.fetches;
      outputs = await (quiet
        ? session.run(feeds, fetches, { logSeverityLevel: 4 })
        : session.run(feeds, fetches));
    } catch (error) {
      throw new BackendError({
        message: `ONNX Runtime failed to run ${this.info.name} (${this.capabilities.backendId}): ${messageOf(error)}`,
        cause: error,
      });
    }
    // float16 logits are widened once here; the KV cache stays in its own type.
    const logits = hostFloats(outputs.logits.data);
    if (logits === undefined || logits.length !== rows * this.info.vocabSize) {
      throw new ModelFormatError({
        path: this.graphFile,
        message:
          `"logits" has ${(logits?.length ?? 0) / rows} columns per row but config.json says vocab_size ` +
          `${this.info.vocabSize}. The config does not belong to this graph; re-export the folder.`,
      });
    }
    const presents = io.presentNames.map(name => outputs[name]);
    return {
      logits,
      hidden: hidden ? hostFloats(outputs.hidden_states.data) : undefined,
      presents,
    };
  }

  /** Cache tensors that keep `positions` of `tensors` [1, H, sourceLength, D] (a copy on the host). */
  gather(tensors: HostCache, sourceLength: number, positions: ArrayLike<number>): HostCache {
    if (positions.length === 0) return this.emptyCache;
    return gatherCache(this.ort, tensors, sourceLength, positions, this.io.shape, this.io.kvType);
  }

  /** Host tensors are garbage-collected: sharing one needs no count. */
  retain(cache: HostCache): HostCache {
    return cache;
  }

  /** Nothing to free: see {@link retain}. */
  release(): void {}

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A forward already running finishes first; queued ones see `disposed` and reject.
    await this.queue.drain();
    try {
      const embedsSession = this.embedsSession;
      this.embedsSession = undefined;
      if (embedsSession !== undefined)
        await (await embedsSession.catch(() => undefined))?.release();
      await this.session.release();
      await this.first?.session.release();
    } catch (error) {
      throw new BackendError({
        message: `ONNX Runtime failed to release the session: ${messageOf(error)}`,
        cause: error,
      });
    }
  }
}

/** Largest relative difference of a prompt forward from one-token forwards that still counts as the same. */
const PREFILL_TOLERANCE = 0.1;

/** max |a - b| over max(1, max |b|): how far `a` is from the reference `b` (Infinity on NaN). */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  let scale = 1;
  let largest = 0;
  for (let index = 0; index < b.length; index++) {
    scale = Math.max(scale, Math.abs(b[index]));
    const difference = Math.abs(a[index] - b[index]);
    largest =
      difference > largest || Number.isNaN(difference)
        ? Number.isNaN(difference)
          ? Infinity
          : difference
        : largest;
  }
  return largest / scale;
}

/** First line of an error's message (ONNX Runtime messages can carry long native stacks). */
export function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (
    message
      .split('\n')[0]
      // ONNX Runtime prefixes some errors with its C++ source location and function signature
      // ("/onnxruntime_src/.../model.cc:187 onnxruntime::Model::Model(...) ModelProto does not have a graph."):
      // keep only what went wrong.
      .replace(/\S*onnxruntime_src\/\S+:\d+ \S+?\(.*?\) (?=[A-Z])/g, '')
      .trim()
      .replace(/\.+$/, '')
  );
}
