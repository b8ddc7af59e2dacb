import {
  AbortedError,
  BackendError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  invariant,
  throwIfAborted,
  type Capabilities,
  type ForwardInput,
  type ForwardOptions,
  type ForwardOutput,
  type ModelInfo,
  type Sequence,
} from '@decodekit/core';
import { MASKED, fillAttentionBias, fillDepths } from './attention-bias';
import { checkForward } from './check-forward';
import { float16ToFloat32 } from './float16';
import type { GraphIO } from './graph-io';
import { emptyCache, gatherCache } from './kv-cache';
import type { OrtRuntime, OrtSession, OrtTensor } from './ort-runtime';
import { RunQueue } from './run-queue';

/** The last forward of a sequence, kept until `commit`, `truncate` or the next forward. */
interface LastForward {
  /** Tokens of the forward's rows (a private copy). [rows] */
  readonly tokens: Int32Array;
  /** Parents of the rows, or null for a chain. [rows] */
  readonly parents: Int32Array | null;
  /** Committed length (logical tokens) the forward ran after. */
  readonly pastLength: number;
  /** Cache slots the forward ran after (≥ pastLength when masked slots are kept). */
  readonly pastSlots: number;
  /** Additive mask of those slots (0 alive, MASKED dead), or null when every slot is alive. */
  readonly pastMask: Float32Array | null;
  /** `present.{i}.key|value` outputs, [1, H, pastLength + rows, D] each, in `GraphIO.presentNames` order. */
  readonly presents: readonly OrtTensor[];
}

interface RunResult {
  readonly logits: Float32Array;
  readonly hidden?: Float32Array;
  readonly presents: OrtTensor[];
}

/**
 * Graphs with an attention bias keep the rows a commit drops as masked ("dead") cache slots instead of
 * copying the cache: every commit is then zero-copy, and the next forwards mask those slots out. The cache
 * is compacted (one gather) once this many slots are dead.
 */
export const MAX_DEAD_SLOTS = 48;

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
 * the queue that runs one forward at a time. Sequences hold only their KV tensors and tokens.
 */
export class OnnxEngine {
  readonly queue = new RunQueue();
  capabilities: Capabilities;
  /** Set by {@link probe}; until then every multi-row forward is assumed to run. */
  multiRow: MultiRowSupport = { prefill: true, onCache: true };
  readonly emptyCache: readonly OrtTensor[];
  disposed = false;

  // Input buffers reused by every forward (filled inside the queue, so never by two forwards at once).
  private readonly inputIds: BigInt64Array;
  private readonly positionIds: BigInt64Array;
  /** All ones: every `attention_mask` is a prefix of it. */
  private readonly ones: BigInt64Array;
  /** All zeros: the attention bias of a one-row forward is a prefix of it. */
  private readonly zeros: Float32Array;
  private bias: Float32Array;
  private readonly depths: Int32Array;
  private readonly noSkip?: OrtTensor;
  private readonly fetches: readonly string[];
  private readonly fetchesWithHidden: readonly string[];
  private readonly embeds?: EmbedsGraph;
  private embedsSession?: Promise<OrtSession>;
  private readonly first?: FirstGraph;
  private readonly logitsToKeep = new BigInt64Array(1);
  private readonly logitsToKeepTensor: OrtTensor;
  /**
   * Tensors over prefixes of the reused input buffers, by length (rows for input_ids and position_ids, cache
   * slots for the attention mask and the one-row bias): built on first use, then fed to every forward of that
   * length. Building ONNX Runtime tensors is a measurable share of a small model's step.
   */
  private readonly inputIdsTensors: OrtTensor[] = [];
  private readonly positionIdsTensors: OrtTensor[] = [];
  private readonly maskTensors: OrtTensor[] = [];
  private readonly zeroBiasTensors: OrtTensor[] = [];
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
    this.logitsToKeepTensor = new ort.Tensor('int64', this.logitsToKeep, []);
    this.useCache = new ort.Tensor('bool', Uint8Array.of(1), [1]);
    this.noCache = new ort.Tensor('bool', Uint8Array.of(0), [1]);
    this.capabilities = {
      tree: io.hasAttentionBias && io.hasPositionIds,
      hiddenStates: io.hasHiddenStates,
      layerSkip: io.hasSkipLayers,
      ...(embedding === undefined ? {} : { inputEmbeddings: this.embeds !== undefined }),
      backendId,
    };
    const context = info.contextLength;
    this.inputIds = new BigInt64Array(context);
    this.positionIds = new BigInt64Array(context);
    this.ones = new BigInt64Array(context + MAX_DEAD_SLOTS + 1).fill(1n);
    // Masked (dead) slots can make the cache longer than the context by at most MAX_DEAD_SLOTS.
    this.zeros = new Float32Array(io.hasAttentionBias ? context + MAX_DEAD_SLOTS + 1 : 0);
    this.bias = new Float32Array(0);
    this.depths = new Int32Array(context);
    if (io.hasSkipLayers)
      this.noSkip = new ort.Tensor('bool', new Uint8Array(io.numLayers), [io.numLayers]);
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
  /** Throws unless the forward is valid for this graph; returns the parents as null for a chain. */
  validate(input: ForwardInput, pastLength: number): Int32Array | null {
    return checkForward(input, pastLength, this.info, this.capabilities);
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
   * Runs the graph on `tokens` after `past` (already validated). Fills the shared input buffers, so it must
   * run inside the queue. Multi-row forwards the graph cannot run (see {@link probe}) run one row at a time.
   */
  async run(
    past: readonly OrtTensor[],
    pastLength: number,
    tokens: Int32Array,
    parents: Int32Array | null,
    hidden: boolean,
    skipLayers: readonly number[] | undefined,
    pastSlots: number = pastLength,
    pastMask: Float32Array | null = null,
    embeddings: Float32Array | null = null,
  ): Promise<RunResult> {
    const rows = tokens.length;
    const multiRow = pastSlots === 0 ? this.multiRow.prefill : this.multiRow.onCache;
    if (rows === 1 || multiRow)
      return this.runOnce(
        past,
        pastLength,
        tokens,
        parents,
        hidden,
        skipLayers,
        pastSlots,
        pastMask,
        embeddings,
        false,
      );
    // Row by row: only chains get here (tree needs multi-row forwards), and only without masked slots.
    invariant(
      parents === null && pastMask === null,
      'one-row-at-a-time forwards serve chains only',
    );
    const vocab = this.info.vocabSize;
    const logits = new Float32Array(rows * vocab);
    const hiddenSize = this.info.hiddenSize;
    const hiddenStates = hidden ? new Float32Array(rows * hiddenSize) : undefined;
    let cache = past;
    for (let row = 0; row < rows; row++) {
      const result = await this.runOnce(
        cache,
        pastLength + row,
        tokens.subarray(row, row + 1),
        null,
        hidden,
        skipLayers,
        pastSlots + row,
        null,
        embeddings === null ? null : embeddings.subarray(row * hiddenSize, (row + 1) * hiddenSize),
        false,
      );
      logits.set(result.logits, row * vocab);
      if (hiddenStates !== undefined && result.hidden !== undefined)
        hiddenStates.set(result.hidden, row * hiddenSize);
      cache = result.presents;
    }
    return { logits, hidden: hiddenStates, presents: cache as OrtTensor[] };
  }

  /** One forward of a chain on an unmasked cache (the probe's runs). */
  private runRows(
    past: readonly OrtTensor[],
    pastLength: number,
    tokens: Int32Array,
    hidden: boolean,
    quiet: boolean,
  ): Promise<RunResult> {
    return this.runOnce(
      past,
      pastLength,
      tokens,
      null,
      hidden,
      undefined,
      pastLength,
      null,
      null,
      quiet,
    );
  }

  private async runOnce(
    past: readonly OrtTensor[],
    pastLength: number,
    tokens: Int32Array,
    parents: Int32Array | null,
    hidden: boolean,
    skipLayers: readonly number[] | undefined,
    pastSlots: number,
    pastMask: Float32Array | null,
    embeddings: Float32Array | null,
    quiet: boolean,
  ): Promise<RunResult> {
    const { ort } = this;
    const rows = tokens.length;
    const total = pastSlots + rows;
    const feeds: Record<string, OrtTensor> = {};
    // Split pairs run the empty cache through decoder_model.onnx, which has no past inputs.
    const first = pastSlots === 0 ? this.first : undefined;
    const io = first?.io ?? this.io;
    let session = first?.session ?? this.session;
    if (embeddings !== null) {
      // Same I/O and KV layout as the default graph, with inputs_embeds in place of input_ids.
      session = await this.embedsRunner();
      feeds.inputs_embeds = new ort.Tensor('float32', embeddings, [1, rows, this.info.hiddenSize]);
    } else {
      const inputIds = this.inputIds;
      for (let row = 0; row < rows; row++) inputIds[row] = BigInt(tokens[row]);
      feeds.input_ids = this.inputIdsTensors[rows] ??= new ort.Tensor(
        'int64',
        inputIds.subarray(0, rows),
        [1, rows],
      );
    }
    if (io.hasAttentionMask) {
      feeds.attention_mask = this.maskTensors[total] ??= new ort.Tensor(
        'int64',
        this.ones.subarray(0, total),
        [1, total],
      );
    }
    const depths = this.depths.subarray(0, rows);
    if (io.hasAttentionBias) {
      if (rows === 1 && pastMask === null) {
        depths[0] = 0;
        feeds.attention_bias = this.zeroBiasTensors[total] ??= new ort.Tensor(
          'float32',
          this.zeros.subarray(0, total),
          [1, 1, 1, total],
        );
      } else {
        const size = rows * total;
        if (this.bias.length < size)
          this.bias = new Float32Array(Math.max(size, this.bias.length * 2));
        const bias = this.bias.subarray(0, size);
        fillAttentionBias(bias, depths, pastSlots, parents, pastMask);
        feeds.attention_bias = new ort.Tensor('float32', bias, [1, 1, rows, total]);
      }
    } else {
      fillDepths(depths, parents);
    }
    if (io.hasPositionIds) {
      const positionIds = this.positionIds;
      for (let row = 0; row < rows; row++) positionIds[row] = BigInt(pastLength + depths[row]);
      feeds.position_ids = this.positionIdsTensors[rows] ??= new ort.Tensor(
        'int64',
        positionIds.subarray(0, rows),
        [1, rows],
      );
    }
    if (io.hasSkipLayers) {
      let skip = this.noSkip as OrtTensor;
      if (skipLayers !== undefined && skipLayers.length > 0) {
        const flags = new Uint8Array(io.numLayers);
        for (const layer of skipLayers) flags[layer] = 1;
        skip = new ort.Tensor('bool', flags, [io.numLayers]);
      }
      feeds.skip_layers = skip;
    }
    if (io.logitsToKeep !== undefined) {
      this.logitsToKeep[0] = BigInt(rows);
      feeds[io.logitsToKeep] = this.logitsToKeepTensor;
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
    const logitsData = outputs.logits.data as Float32Array | Uint16Array;
    // float16 logits are widened once here; the KV cache stays in its own type.
    const logits = logitsData instanceof Float32Array ? logitsData : float16ToFloat32(logitsData);
    if (logits.length !== rows * this.info.vocabSize) {
      throw new ModelFormatError({
        path: this.graphFile,
        message:
          `"logits" has ${logits.length / rows} columns per row but config.json says vocab_size ` +
          `${this.info.vocabSize}. The config does not belong to this graph; re-export the folder.`,
      });
    }
    const presents = io.presentNames.map(name => outputs[name]);
    return {
      logits,
      hidden: hidden ? (outputs.hidden_states.data as Float32Array) : undefined,
      presents,
    };
  }

  /** Cache tensors that keep `positions` of `tensors` [1, H, sourceLength, D]. */
  gather(
    tensors: readonly OrtTensor[],
    sourceLength: number,
    positions: ArrayLike<number>,
  ): readonly OrtTensor[] {
    if (positions.length === 0) return this.emptyCache;
    return gatherCache(this.ort, tensors, sourceLength, positions, this.io.shape, this.io.kvType);
  }

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

function range(length: number): Int32Array {
  const positions = new Int32Array(length);
  for (let index = 0; index < length; index++) positions[index] = index;
  return positions;
}

/** A Sequence over an OnnxEngine. KV tensors are immutable and shared between forks (see kv-cache.ts). */
export class OnnxSequence implements Sequence {
  private committed: number[];
  private cache: readonly OrtTensor[];
  private last: LastForward | null;
  /** Slots of `cache` (committed tokens plus masked dead slots). */
  private slots: number;
  /** Additive mask over the slots (0 alive, MASKED dead); null when every slot is alive. Never mutated. */
  private mask: Float32Array | null;
  private dead: number;
  /** Bumped by commit/truncate, so a forward that finishes after them does not become `last`. */
  private version = 0;
  private disposed = false;

  constructor(
    private readonly engine: OnnxEngine,
    committed: number[] = [],
    cache: readonly OrtTensor[] = engine.emptyCache,
    last: LastForward | null = null,
    layout: { slots: number; mask: Float32Array | null; dead: number } = {
      slots: committed.length,
      mask: null,
      dead: 0,
    },
  ) {
    this.committed = committed;
    this.cache = cache;
    this.last = last;
    this.slots = layout.slots;
    this.mask = layout.mask;
    this.dead = layout.dead;
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
    const parents = engine.validate(input, pastLength);
    const wantHidden = input.hidden === true;
    // This forward supersedes the previous one, even if it fails: commit() never keeps stale rows.
    this.last = null;
    const version = this.version;
    const cache = this.cache;
    const pastSlots = this.slots;
    const pastMask = this.mask;
    // Private copies: the caller may reuse its arrays while the forward is queued or after it.
    const tokens = input.tokens.slice();
    const rowParents = parents === null ? null : parents.slice();
    const skipLayers = input.skipLayers === undefined ? undefined : [...input.skipLayers];
    const embeddings = input.embeddings === undefined ? null : input.embeddings.slice();
    const result = await engine.queue.run(async () => {
      if (engine.disposed) throw new DisposedError({ what: `The model ${engine.info.name}` });
      throwIfAborted(signal);
      return engine.run(
        cache,
        pastLength,
        tokens,
        rowParents,
        wantHidden,
        skipLayers,
        pastSlots,
        pastMask,
        embeddings,
      );
    }, signal);
    // onnxruntime-node cannot interrupt a running session, so an abort during the run is reported here.
    if (signal?.aborted) throw new AbortedError({ reason: signal.reason });
    if (this.disposed) throw new DisposedError({ what: 'Sequence' });
    if (this.version === version) {
      this.last = {
        tokens,
        parents: rowParents,
        pastLength,
        pastSlots,
        pastMask,
        presents: result.presents,
      };
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
      this.last = null;
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
    if (isPrefix && count === forwardRows && pastMask === null) {
      // The whole chain: the forward's present tensors are exactly the next past, as in a minimal loop.
      this.cache = last.presents;
      this.slots = sourceLength;
    } else if (this.engine.capabilities.tree) {
      // Keep every row and mask the dropped ones: zero-copy, compacted once enough slots are dead.
      const mask = new Float32Array(sourceLength);
      if (pastMask !== null) mask.set(pastMask.subarray(0, pastSlots));
      const kept = new Uint8Array(forwardRows);
      for (let index = 0; index < count; index++) kept[rows[index]] = 1;
      for (let row = 0; row < forwardRows; row++) if (!kept[row]) mask[pastSlots + row] = MASKED;
      this.dead = (pastMask === null ? 0 : this.dead) + forwardRows - count;
      this.cache = last.presents;
      this.slots = sourceLength;
      this.mask = mask;
      if (this.dead > MAX_DEAD_SLOTS) this.compact();
    } else if (isPrefix) {
      this.cache = this.engine.gather(last.presents, sourceLength, range(pastLength + count));
      this.slots = pastLength + count;
    } else {
      const positions = new Int32Array(pastLength + count);
      for (let index = 0; index < pastLength; index++) positions[index] = index;
      for (let index = 0; index < count; index++)
        positions[pastLength + index] = pastLength + rows[index];
      this.cache = this.engine.gather(last.presents, sourceLength, positions);
      this.slots = pastLength + count;
    }
    for (let index = 0; index < count; index++) this.committed.push(last.tokens[rows[index]]);
    this.last = null;
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
    this.cache = this.engine.gather(this.cache, this.slots, this.aliveSlots(length));
    this.slots = length;
    this.mask = null;
    this.dead = 0;
    this.committed.length = length;
    this.last = null;
    this.version++;
  }

  fork(): Sequence {
    this.assertUsable();
    return new OnnxSequence(this.engine, this.committed.slice(), this.cache, this.last, {
      slots: this.slots,
      mask: this.mask,
      dead: this.dead,
    });
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

  /** Drops the dead slots with one gather. */
  private compact(): void {
    const alive = this.aliveCount();
    this.cache = this.engine.gather(this.cache, this.slots, this.aliveSlots(alive));
    this.slots = alive;
    this.mask = null;
    this.dead = 0;
  }

  private aliveCount(): number {
    return this.slots - this.dead;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache = [];
    this.last = null;
  }

  private assertUsable(): void {
    if (this.disposed) throw new DisposedError({ what: 'Sequence' });
    if (this.engine.disposed)
      throw new DisposedError({ what: `The model ${this.engine.info.name} behind this sequence` });
  }
}
