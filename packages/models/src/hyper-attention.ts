import { InvalidArgumentError } from '@decodekit/core';
import { ElemType, type GraphWriter } from './onnx-writer.js';
import { seededRandom } from './seeded-random.js';

/**
 * HyperAttention (Han et al., 2023; official code insuhan/hyper-attn `hyper_attn.py`) as a graph-builder
 * attention option for long prompts. On a prefill of more than `minSeqLen` rows on an empty cache, causal
 * attention is split recursively as the official code does: the sequence's two halves attend causally to
 * themselves (recursively, until a part has at most `minSeqLen` rows and is computed exactly) and the second
 * half attends to the first without a mask, by sortLSH + block-diagonal exact attention + a residual from
 * uniformly sampled key columns, merged by log-sum-exp. Everything else (short prompts, decode steps, tree
 * verification on a cache) takes the builder's exact attention, the very same operators, so those outputs are
 * bit-identical to a graph built without the option.
 *
 * What is ours: the LSH directions and the sampled columns come from `seed` when the graph is built (the
 * official code draws fresh ones per module and per call), so a prompt always gives the same logits; the
 * sampled columns are drawn as fractions of the key count per head, `floor(u · n)`. Block padding is masked
 * (the official code pads sorted keys with zero rows that still take softmax weight).
 */
export interface HyperAttentionOptions {
  /** Parts of at most this many rows are computed exactly (official default 4096). */
  readonly minSeqLen?: number;
  /** Rows per block of the block-diagonal part (official default 256). */
  readonly blockSize?: number;
  /** Key columns sampled for the residual (official default 256; 0 turns the residual off). */
  readonly sampleSize?: number;
  /** Random hyperplanes of the angular LSH (official default 7; 2^r buckets). */
  readonly lshProjections?: number;
  /** Seed of the hyperplanes and the sampled columns (default 0). */
  readonly seed?: number;
  /**
   * Layers that use it (default every layer). The official patch script replaces the attention of chosen
   * layers only (its `patch_config` of first, last, even or odd layers).
   */
  readonly layers?: readonly number[];
}

/** {@link HyperAttentionOptions} with the defaults filled in. */
export interface HyperAttentionSettings {
  readonly minSeqLen: number;
  readonly blockSize: number;
  readonly sampleSize: number;
  readonly lshProjections: number;
  readonly seed: number;
  readonly layers: readonly number[] | undefined;
}

/** The deterministic random tables one graph (or one reference computation) uses. */
export interface HyperAttentionTables {
  /** Hyperplanes [headDim, r], row-major. */
  readonly projections: Float32Array;
  /** Gray-code order of the 2^r buckets (the official `_unit_hamming_distance_array`). */
  readonly bucketOrder: Float32Array;
  /** Uniform [0, 1) draws [maxHeads, sampleSize], row-major: the sampled key column of head h is floor(u·n). */
  readonly samples: Float32Array;
}

const MASKED = -1e9;

/** Checks options and fills in the official defaults. */
export function hyperAttentionSettings(
  options: HyperAttentionOptions,
  numLayers: number,
): HyperAttentionSettings {
  const settings: HyperAttentionSettings = {
    minSeqLen: options.minSeqLen ?? 4096,
    blockSize: options.blockSize ?? 256,
    sampleSize: options.sampleSize ?? 256,
    lshProjections: options.lshProjections ?? 7,
    seed: options.seed ?? 0,
    layers: options.layers,
  };
  const positive = (name: keyof HyperAttentionSettings, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError({
        argument: `hyperAttention.${name}`,
        message: `must be an integer ≥ ${min}, got ${value}.`,
      });
    }
  };
  positive('minSeqLen', settings.minSeqLen, 1);
  positive('blockSize', settings.blockSize, 1);
  positive('sampleSize', settings.sampleSize, 0);
  positive('lshProjections', settings.lshProjections, 1);
  if (settings.lshProjections > 16) {
    throw new InvalidArgumentError({
      argument: 'hyperAttention.lshProjections',
      message: `must be at most 16 (2^r buckets), got ${settings.lshProjections}.`,
    });
  }
  if (settings.blockSize > settings.minSeqLen) {
    throw new InvalidArgumentError({
      argument: 'hyperAttention.blockSize',
      message: `(${settings.blockSize}) must not exceed minSeqLen (${settings.minSeqLen}): a part is split into blocks only when it is longer than minSeqLen.`,
    });
  }
  for (const layer of settings.layers ?? []) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) {
      throw new InvalidArgumentError({
        argument: 'hyperAttention.layers',
        message: `holds ${layer}, but the model has layers 0..${numLayers - 1}.`,
      });
    }
  }
  return settings;
}

const SPEC_KEYS: Record<string, keyof HyperAttentionOptions> = {
  min: 'minSeqLen',
  block: 'blockSize',
  sample: 'sampleSize',
  projections: 'lshProjections',
  seed: 'seed',
  layers: 'layers',
};

/**
 * Parses the CLI's `--hyper-attention` value: `on` (the official defaults) or comma-separated `key=value`
 * with keys `min`, `block`, `sample`, `projections`, `seed` and `layers` (`+`-separated indices), e.g.
 * `min=1024,block=128,layers=6+7`.
 *
 * @throws InvalidArgumentError on an unknown key or a value that is not a non-negative integer
 */
export function parseHyperAttentionSpec(raw: string): HyperAttentionOptions {
  if (raw === 'on' || raw === '') return {};
  const options: Record<string, number | number[]> = {};
  for (const part of raw.split(',')) {
    const [key, value, ...rest] = part.split('=');
    const field = SPEC_KEYS[key.trim()];
    const numbers = (value ?? '').split('+').map(item => Number(item.trim()));
    if (
      field === undefined ||
      rest.length > 0 ||
      value === undefined ||
      numbers.some(item => !Number.isInteger(item) || item < 0) ||
      (field !== 'layers' && numbers.length !== 1)
    ) {
      throw new InvalidArgumentError({
        argument: '--hyper-attention',
        message: `cannot read "${part}": write "on" or key=value pairs with keys ${Object.keys(SPEC_KEYS).join(', ')} and non-negative integers (layers as 6+7), e.g. min=1024,block=128.`,
      });
    }
    options[field] = field === 'layers' ? numbers : numbers[0];
  }
  return options as HyperAttentionOptions;
}

/** How many halvings take a prompt of `contextLength` rows down to at most `minSeqLen`. */
export function hyperAttentionDepth(contextLength: number, minSeqLen: number): number {
  let depth = 0;
  for (let rows = contextLength; rows > minSeqLen; rows = Math.ceil(rows / 2)) depth++;
  return depth;
}

function bucketOrder(bits: number): number[] {
  if (bits === 1) return [0, 1];
  const previous = bucketOrder(bits - 1);
  return [...previous, ...[...previous].reverse().map(value => value + 2 ** (bits - 1))];
}

/** The seeded hyperplanes, bucket order and sample draws for heads up to `maxHeads`. */
export function hyperAttentionTables(
  settings: HyperAttentionSettings,
  headDim: number,
  maxHeads: number,
): HyperAttentionTables {
  const random = seededRandom(settings.seed);
  const projections = new Float32Array(headDim * settings.lshProjections);
  for (let i = 0; i < projections.length; i++) projections[i] = random.normal();
  const samples = new Float32Array(maxHeads * settings.sampleSize);
  for (let i = 0; i < samples.length; i++) samples[i] = random.next();
  return {
    projections,
    bucketOrder: Float32Array.from(bucketOrder(settings.lshProjections)),
    samples,
  };
}

/** Names of the graph's shared HyperAttention initializers. */
interface HyperGraph {
  readonly settings: HyperAttentionSettings;
  readonly headDim: number;
  readonly projections: string;
  readonly powers: string;
  readonly bucketOrder: string;
  readonly samples: string;
  readonly masked: string;
  readonly zero: string;
  /** The sample size as a float scalar. */
  readonly sampleCount: string;
}

/**
 * Writes the tables as initializers (once per graph) and returns a writer of causal HyperAttention for
 * `[1, heads, n, headDim]` queries, keys and values (keys and values already expanded to `heads`). The
 * returned function gives the attention's output `[1, heads, n, headDim]`; the queries carry the softmax
 * scale already (the builder folds 1/√D into Q).
 */
export function hyperAttentionWriter(
  g: GraphWriter,
  settings: HyperAttentionSettings,
  headDim: number,
  heads: number,
  contextLength: number,
): (g: GraphWriter, q: string, k: string, v: string) => string {
  const depth = hyperAttentionDepth(contextLength, settings.minSeqLen);
  const tables = hyperAttentionTables(settings, headDim, heads * 2 ** depth);
  const r = settings.lshProjections;
  const graph: HyperGraph = {
    settings,
    headDim,
    projections: g.float('hyper.projections', [headDim, r], tables.projections),
    powers: g.float(
      'hyper.powers',
      [r, 1],
      Float32Array.from({ length: r }, (_, i) => 2 ** i),
    ),
    bucketOrder: g.float('hyper.bucket_order', [2 ** r], tables.bucketOrder),
    samples: g.float(
      'hyper.samples',
      [heads * 2 ** depth, settings.sampleSize],
      settings.sampleSize > 0 ? tables.samples : new Float32Array(0),
    ),
    masked: g.float('hyper.masked', [], new Float32Array([MASKED])),
    zero: g.float('hyper.zero', [], new Float32Array([0])),
    sampleCount: g.float('hyper.sample_count', [], new Float32Array([settings.sampleSize])),
  };
  return (w, q, k, v) => causal(w, graph, q, k, v, heads, depth)[0];
}

/** `[rows]` of a `[1, heads, rows, D]` tensor, as an int64 scalar. */
function rowsOf(g: GraphWriter, x: string): string {
  return g.op1('Squeeze', [g.op1('Shape', [x], { start: 2, end: 3 }), g.int64([1], [0])]);
}

function rowSlice(g: GraphWriter, x: string, start: string, end: string): string {
  const one = g.int64([1], [0]);
  const unsq = (s: string) => g.op1('Unsqueeze', [s, one]);
  return g.op1('Slice', [x, unsq(start), unsq(end), g.int64([1], [2])]);
}

/** Pads `pad` (int64 scalar) zero rows at the end of axis 2 of a rank-4 tensor. */
function padRows(g: GraphWriter, x: string, pad: string): string {
  const pads = g.op1(
    'Concat',
    [
      g.int64([6], [0, 0, 0, 0, 0, 0]),
      g.op1('Unsqueeze', [pad, g.int64([1], [0])]),
      g.int64([1], [0]),
    ],
    {
      axis: 0,
    },
  );
  return g.op1('Pad', [x, pads]);
}

/**
 * Exact attention with its log-sum-exp: `[attention, lse]` for scores `q·kᵀ + bias`. One pass of Exp over the
 * scores (max, exp, sum), and the division on the [rows, D] output rather than on the [rows, keys] weights.
 */
function exact(g: GraphWriter, q: string, k: string, v: string, bias?: string): [string, string] {
  let scores = g.op1('MatMul', [q, g.op1('Transpose', [k], { perm: [0, 1, 3, 2] })]);
  if (bias !== undefined) scores = g.op1('Add', [scores, bias]);
  const top = g.op1('ReduceMax', [scores], { axes: [-1], keepdims: 1 });
  const weights = g.op1('Exp', [g.op1('Sub', [scores, top])]);
  const total = g.op1('ReduceSum', [weights, g.int64([1], [-1])], { keepdims: 1 });
  const attention = g.op1('Div', [g.op1('MatMul', [weights, v]), total]);
  return [attention, g.op1('Add', [top, g.op1('Log', [total])])];
}

/** The causal mask [n, n] (0 on and below the diagonal) of a part with `n` rows. */
function causalMask(g: GraphWriter, h: HyperGraph, n: string): string {
  const range = g.op1('Range', [g.int64([], [0]), n, g.int64([], [1])]);
  const columns = g.op1('Unsqueeze', [range, g.int64([1], [0])]);
  const rows = g.op1('Unsqueeze', [range, g.int64([1], [1])]);
  return g.op1('Where', [g.op1('LessOrEqual', [columns, rows]), h.zero, h.masked]);
}

/** Merges two attentions over disjoint key sets by their log-sum-exps (the official add_self_attentions). */
function merge(
  g: GraphWriter,
  [a1, l1]: readonly [string, string],
  [a2, l2]: readonly [string, string],
): [string, string] {
  const top = g.op1('Max', [l1, l2]);
  const w1 = g.op1('Exp', [g.op1('Sub', [l1, top])]);
  const w2 = g.op1('Exp', [g.op1('Sub', [l2, top])]);
  const total = g.op1('Add', [w1, w2]);
  const attention = g.op1('Div', [
    g.op1('Add', [g.op1('Mul', [a1, w1]), g.op1('Mul', [a2, w2])]),
    total,
  ]);
  return [attention, g.op1('Add', [top, g.op1('Log', [total])])];
}

/** Runs `build` in the branch where `condition` holds, `otherwise` in the other; both give [attention, lse]. */
function branch(
  g: GraphWriter,
  condition: string,
  build: (w: GraphWriter) => [string, string],
  otherwise: (w: GraphWriter) => [string, string],
): [string, string] {
  const thenGraph = g.subgraph();
  const elseGraph = g.subgraph();
  for (const [writer, body] of [
    [thenGraph, build],
    [elseGraph, otherwise],
  ] as const) {
    const [attention, lse] = body(writer);
    writer.output(writer.op1('Identity', [attention]), ElemType.float);
    writer.output(writer.op1('Identity', [lse]), ElemType.float);
  }
  const [attention, lse] = g.op(
    'If',
    [condition],
    { then_branch: thenGraph.toGraph('then'), else_branch: elseGraph.toGraph('else') },
    2,
  );
  return [attention, lse];
}

/** Causal attention of `heads` parts: exact at most minSeqLen rows, else split in halves (official forward). */
function causal(
  g: GraphWriter,
  h: HyperGraph,
  q: string,
  k: string,
  v: string,
  heads: number,
  depth: number,
): [string, string] {
  const exactCausal = (w: GraphWriter): [string, string] =>
    exact(w, q, k, v, causalMask(w, h, rowsOf(w, q)));
  if (depth === 0) return exactCausal(g);
  const n = rowsOf(g, q);
  const short = g.op1('LessOrEqual', [n, g.int64([], [h.settings.minSeqLen])]);
  return branch(g, short, exactCausal, w => {
    // An odd part gets one zero row at the end (it attends only to itself and is dropped).
    const two = w.int64([], [2]);
    const pad = w.op1('Mod', [n, two]);
    const padded = w.op1('Add', [n, pad]);
    const half = w.op1('Div', [padded, two]);
    const [qp, kp, vp] = [q, k, v].map(x => padRows(w, x, pad));
    const d = h.headDim;
    const split = (x: string) => w.op1('Reshape', [x, w.int64([4], [1, 2 * heads, -1, d])]);
    const [inner, innerLse] = causal(w, h, split(qp), split(kp), split(vp), 2 * heads, depth - 1);
    const joined = w.op1('Reshape', [inner, w.int64([4], [1, heads, -1, d])]);
    const joinedLse = w.op1('Reshape', [innerLse, w.int64([4], [1, heads, -1, 1])]);
    const zero = w.int64([], [0]);
    const lower = nonCausal(
      w,
      h,
      rowSlice(w, qp, half, padded),
      rowSlice(w, kp, zero, half),
      rowSlice(w, vp, zero, half),
      heads,
    );
    const bottom = merge(
      w,
      [rowSlice(w, joined, half, padded), rowSlice(w, joinedLse, half, padded)],
      lower,
    );
    const attention = w.op1('Concat', [rowSlice(w, joined, zero, half), bottom[0]], { axis: 2 });
    const lse = w.op1('Concat', [rowSlice(w, joinedLse, zero, half), bottom[1]], { axis: 2 });
    return [rowSlice(w, attention, zero, n), rowSlice(w, lse, zero, n)];
  });
}

/** Gathers rows of `x` [1, heads, n, width] at `indices` [1, heads, m]. */
function gatherRows(g: GraphWriter, x: string, indices: string, width: number): string {
  const shape = g.op1('Concat', [g.op1('Shape', [indices]), g.int64([1], [width])], { axis: 0 });
  const expanded = g.op1('Expand', [g.op1('Unsqueeze', [indices, g.int64([1], [3])]), shape]);
  return g.op1('GatherElements', [x, expanded], { axis: 2 });
}

/** The sortLSH bucket of each row of `x` [1, heads, n, D], in Gray-code order, as float [1, heads, n]. */
function lshBuckets(g: GraphWriter, h: HyperGraph, x: string): string {
  const signs = g.op1('Cast', [g.op1('Greater', [g.op1('MatMul', [x, h.projections]), h.zero])], {
    to: ElemType.float,
  });
  const code = g.op1('Squeeze', [g.op1('MatMul', [signs, h.powers]), g.int64([1], [3])]);
  return g.op1('Gather', [h.bucketOrder, g.op1('Cast', [code], { to: ElemType.int64 })], {
    axis: 0,
  });
}

/** Stable ascending sort of rows by bucket: the permutation [1, heads, n] (ties by position). */
function sortByBucket(g: GraphWriter, h: HyperGraph, x: string, n: string): string {
  const buckets = lshBuckets(g, h, x);
  // bucket · n + position is unique, so the sort is stable whatever TopK does with ties.
  const positions = g.op1('Cast', [g.op1('Range', [g.int64([], [0]), n, g.int64([], [1])])], {
    to: ElemType.float,
  });
  const keys = g.op1('Add', [
    g.op1('Mul', [buckets, g.op1('Cast', [n], { to: ElemType.float })]),
    positions,
  ]);
  const [, order] = g.op(
    'TopK',
    [keys, g.op1('Unsqueeze', [n, g.int64([1], [0])])],
    { axis: -1, largest: 0, sorted: 1 },
    2,
  );
  return order;
}

/** Non-causal HyperAttention of equally long `q` and `k`/`v` (official forward_no_causal_mask). */
function nonCausal(
  g: GraphWriter,
  h: HyperGraph,
  q: string,
  k: string,
  v: string,
  heads: number,
): [string, string] {
  const n = rowsOf(g, q);
  const short = g.op1('Less', [n, g.int64([], [h.settings.minSeqLen])]);
  return branch(
    g,
    short,
    w => exact(w, q, k, v),
    w => {
      const { blockSize, sampleSize } = h.settings;
      const d = h.headDim;
      const queryOrder = sortByBucket(w, h, q, n);
      const keyOrder = sortByBucket(w, h, k, n);
      const qs = gatherRows(w, q, queryOrder, d);
      const ks = gatherRows(w, k, keyOrder, d);
      const vs = gatherRows(w, v, keyOrder, d);

      // 1. Block-diagonal exact attention over the sorted rows; padding rows are masked as keys.
      const block = w.int64([], [blockSize]);
      const pad = w.op1('Mod', [w.op1('Sub', [block, w.op1('Mod', [n, block])]), block]);
      const padded = w.op1('Add', [n, pad]);
      const blocks = (x: string) =>
        w.op1('Reshape', [padRows(w, x, pad), w.int64([5], [1, heads, -1, blockSize, d])]);
      const keyPositions = w.op1('Range', [w.int64([], [0]), padded, w.int64([], [1])]);
      const keyBias = w.op1('Reshape', [
        w.op1('Where', [w.op1('Less', [keyPositions, n]), h.zero, h.masked]),
        w.int64([5], [1, 1, -1, 1, blockSize]),
      ]);
      const scores = w.op1('Add', [
        w.op1('MatMul', [blocks(qs), w.op1('Transpose', [blocks(ks)], { perm: [0, 1, 2, 4, 3] })]),
        keyBias,
      ]);
      const blockLse = w.op1('ReduceLogSumExp', [scores], { axes: [-1], keepdims: 1 });
      const blockOut = w.op1('MatMul', [w.op1('Softmax', [scores], { axis: -1 }), blocks(vs)]);
      const zero = w.int64([], [0]);
      let sorted: [string, string] = [
        rowSlice(w, w.op1('Reshape', [blockOut, w.int64([4], [1, heads, -1, d])]), zero, n),
        rowSlice(w, w.op1('Reshape', [blockLse, w.int64([4], [1, heads, -1, 1])]), zero, n),
      ];

      // 2. The residual from uniformly sampled key columns, scaled by n / s, blocks already counted masked.
      if (sampleSize > 0) {
        const count = w.op1('Cast', [n], { to: ElemType.float });
        const draws = w.op1('Slice', [
          h.samples,
          w.int64([1], [0]),
          w.int64([1], [heads]),
          w.int64([1], [0]),
        ]); // [heads, s]
        const sampled = w.op1('Unsqueeze', [
          w.op1('Min', [
            w.op1('Cast', [w.op1('Floor', [w.op1('Mul', [draws, count])])], {
              to: ElemType.int64,
            }),
            w.op1('Sub', [n, w.int64([], [1])]),
          ]),
          w.int64([1], [0]),
        ]); // [1, heads, s]
        const sampledKeys = gatherRows(w, ks, sampled, d);
        const sampledValues = gatherRows(w, vs, sampled, d);
        const queryBlocks = w.op1('Reshape', [
          w.op1('Div', [w.op1('Range', [zero, n, w.int64([], [1])]), block]),
          w.int64([4], [1, 1, -1, 1]),
        ]);
        const keyBlocks = w.op1('Unsqueeze', [w.op1('Div', [sampled, block]), w.int64([1], [2])]);
        const covered = w.op1('Where', [
          w.op1('Equal', [queryBlocks, keyBlocks]),
          h.masked,
          h.zero,
        ]); // [1, heads, n, s]
        const [residual, residualLse] = exact(w, qs, sampledKeys, sampledValues, covered);
        const logScale = w.op1('Log', [w.op1('Div', [count, h.sampleCount])]);
        sorted = merge(w, sorted, [residual, w.op1('Add', [residualLse, logScale])]);
      }

      // Back to the queries' order.
      const range = w.op1('Expand', [
        w.op1('Range', [zero, n, w.int64([], [1])]),
        w.op1('Shape', [queryOrder]),
      ]);
      const inverse = w.op1('ScatterElements', [range, queryOrder, range], { axis: -1 });
      return [gatherRows(w, sorted[0], inverse, d), gatherRows(w, sorted[1], inverse, 1)];
    },
  );
}
