import { InvalidArgumentError, invariant, ModelFormatError } from '@decodekit/core';
import { type LlamaConfig, type LlamaWeights, headDimOf, weightSizes } from './llama-config.js';
import { fusedGateUp, fusedQkv, ropeTables, transposed } from './graph-weights.js';
import {
  ElemType,
  MS_DOMAIN,
  type GraphWriter,
  createGraphWriter,
  decodeModel,
  encodeModel,
} from './onnx-writer.js';
import { quantizeInt4, quantizeInt8, toFloat16 } from './quantize.js';
import {
  type HyperAttentionOptions,
  hyperAttentionSettings,
  hyperAttentionWriter,
} from './hyper-attention.js';

/**
 * Weight and I/O precision of a built graph, named as transformers.js names its files:
 * - `fp32`: float32 weights, cache and logits.
 * - `fp16`: float16 weights, KV cache (`past_key_values.*`, `present.*`) and logits; the arithmetic runs in
 *   float32 between them (weights are widened once when ONNX Runtime loads the graph).
 * - `q8`: per-column int8 weights of every layer projection with dynamically quantized int8 activations, run
 *   by MatMulInteger (see `q8Activations`); embeddings and the classifier stay float32.
 * - `q4`: 4-bit weights of every layer projection in blocks of 32 with zero points (asymmetric, as ONNX
 *   Runtime's 4-bit quantizer writes them), run by com.microsoft MatMulNBits.
 * - `q4f16`: `q4` with the I/O of `fp16` (float16 KV cache, logits and embedding table).
 */
export type GraphDtype = 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16';

/** Every {@link GraphDtype}. */
export const GRAPH_DTYPES: readonly GraphDtype[] = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'];

/** Options of {@link buildLlamaGraph}. */
export interface LlamaGraphOptions {
  /**
   * Only the standard Hugging Face I/O with a built-in causal mask (docs/graph-io.md, "Standard I/O").
   * Default false: the graph also has every decodekit extension.
   */
  readonly plain?: boolean;
  /** Include the `attention_bias` input (default: `!plain`). */
  readonly attentionBias?: boolean;
  /** Include the `hidden_states` output (default: `!plain`). */
  readonly hiddenStates?: boolean;
  /** Include the `skip_layers` input (default: `!plain`). */
  readonly skipLayers?: boolean;
  /**
   * Take `inputs_embeds` [1, n, hiddenSize] (float32) in place of `input_ids`: the rows' input embeddings
   * instead of the embedding lookup (Hugging Face's `inputs_embeds`; superposed decoding feeds weighted sums
   * of embedding rows). Default false. The embedding table stays in the graph for a tied classifier; read it
   * with `readEmbeddingTable`.
   */
  readonly inputsEmbeds?: boolean;
  /** Stored in the model's metadata_props. */
  readonly name?: string;
  /**
   * Adds layer `layer`'s fused MLP initializers, `layers.{layer}.w13` [dim, 2 * hiddenDim] (gate columns,
   * then up columns) and `layers.{layer}.w2` [hiddenDim, dim], instead of deriving them from `weights`,
   * whose w1/w2/w3 are then neither read nor checked. Cost twins use it to point at weights streamed to
   * an external data file.
   */
  readonly mlpWeights?: (g: GraphWriter, layer: number) => void;
  /** Weight and I/O precision (default `fp32`). */
  readonly dtype?: GraphDtype;
  /**
   * How `q8` quantizes activations: `per-row` (default; symmetric int8, one scale per row, so multi-row
   * forwards give the logits of one-row forwards) or `per-tensor` (DynamicQuantizeLinear, ONNX Runtime's
   * quantize_dynamic pattern: one scale per call, so they do not; the loader then verifies drafts row by row).
   */
  readonly q8Activations?: 'per-row' | 'per-tensor';
  /**
   * Take `position_ids` (default true). Without it the graph counts positions from the cache length, as
   * exports of models without the input do; that needs a chain (so no `attention_bias`).
   */
  readonly positionIds?: boolean;
  /**
   * A merged decoder (optimum's `decoder_model_merged.onnx`): a bool [1] `use_cache_branch` input; when false
   * the past inputs are ignored (the prompt branch). Default false.
   */
  readonly useCacheBranch?: boolean;
  /**
   * The first graph of a split pair (optimum's `decoder_model.onnx`): no past inputs, the prompt runs on an
   * empty cache; `decoder_with_past_model.onnx` is the graph built without this option. Default false.
   */
  readonly withoutPast?: boolean;
  /**
   * A scalar int64 `num_logits_to_keep` input (transformers.js exports): logits only for that many trailing
   * rows. Default false.
   */
  readonly logitsToKeep?: boolean;
  /**
   * How attention is written: `decomposed` (default; MatMul, Softmax and a causal mask, RoPE gathered by
   * position) or `group-query`, one com.microsoft GroupQueryAttention per layer fed `seqlens_k` and
   * `total_sequence_length` computed from `attention_mask`, as onnxruntime-genai's model builder writes it.
   * `group-query` needs `plain` and float32 I/O.
   */
  readonly attention?: 'decomposed' | 'group-query';
  /**
   * With `group-query`: the operator rotates Q and K itself (`do_rotary = 1`, the cos/sin tables as its
   * `cos_cache` / `sin_cache` inputs), as onnxruntime-genai's builder writes it, instead of the rotation
   * outside. ONNX Runtime's fused rotary needs head sizes that are multiples of 16. Default false.
   */
  readonly groupQueryRotary?: boolean;
  /**
   * HyperAttention (hyper-attention.ts) for long prompts: a prefill of more than `minSeqLen` rows on an
   * empty cache attends causally by the paper's recursion (sortLSH + block-diagonal + sampled residual), an
   * approximation; every other forward attends exactly with the same operators as a graph built without it
   * (bit-identical). On that path `attention_bias` and zeros in `attention_mask` are not read: it is plain
   * causal attention over all rows, as a prompt prefill is. Needs `decomposed` attention.
   */
  readonly hyperAttention?: HyperAttentionOptions;
}

/** Value used by the built-in causal mask for masked positions. */
const MASKED = -1e9;

interface Context {
  readonly g: GraphWriter;
  readonly config: LlamaConfig;
  readonly headDim: number;
  readonly eps: string;
  readonly two: string;
  readonly dtype: GraphDtype;
  readonly q8Activations: 'per-row' | 'per-tensor';
  /** Scalars of the per-row int8 activation quantization. */
  readonly tiny: string;
  readonly int8Max: string;
  /** HyperAttention's writer, the layers it serves and the bool scalar saying when it runs. */
  readonly hyper?: {
    readonly write: (g: GraphWriter, q: string, k: string, v: string) => string;
    readonly layers?: ReadonlySet<number>;
    readonly active: string;
  };
}

/** How each layer projection is stored and multiplied, by dtype. */
function storeLinear(
  ctx: Context,
  name: string,
  rows: number,
  columns: number,
  matrix: Float32Array,
): void {
  const { g, dtype } = ctx;
  if (dtype === 'fp16') {
    g.tensor(`${name}.fp16`, [rows, columns], ElemType.float16, toFloat16(matrix));
    // ONNX Runtime folds this Cast at load: the file stores float16, the MatMul runs in float32.
    g.op1('Cast', [`${name}.fp16`], { to: ElemType.float }, name);
  } else if (dtype === 'q8') {
    const { quantized, scales } = quantizeInt8(matrix, rows, columns);
    if (ctx.q8Activations === 'per-tensor') {
      // uint8 weights with zero point 128, as ONNX Runtime's dynamic quantization writes them.
      const shifted = new Uint8Array(quantized.length);
      for (let index = 0; index < quantized.length; index++)
        shifted[index] = quantized[index] + 128;
      g.tensor(`${name}.uint8`, [rows, columns], ElemType.uint8, shifted);
      g.tensor(`${name}.zero_point`, [], ElemType.uint8, Uint8Array.of(128));
    } else {
      g.tensor(`${name}.int8`, [rows, columns], ElemType.int8, quantized);
    }
    g.float(`${name}.scale`, [columns], scales);
  } else if (dtype === 'q4' || dtype === 'q4f16') {
    const { packed, scales, blocks, zeroPoints } = quantizeInt4(matrix, rows, columns, 32);
    g.tensor(`${name}.q4`, [columns, blocks, 16], ElemType.uint8, packed);
    g.float(`${name}.scale`, [columns * blocks], scales);
    if (zeroPoints !== undefined)
      g.tensor(`${name}.zero_point`, [zeroPoints.length], ElemType.uint8, zeroPoints);
  } else {
    g.float(name, [rows, columns], matrix);
  }
}

/** `x @ W` for a projection stored by {@link storeLinear} (`columns` = W's output width). */
function linear(
  ctx: Context,
  g: GraphWriter,
  x: string,
  name: string,
  rows: number,
  columns: number,
): string {
  const { dtype } = ctx;
  if (dtype === 'q8' && ctx.q8Activations === 'per-tensor') {
    // ONNX Runtime's quantize_dynamic pattern (transformers.js' model_quantized.onnx): one activation scale
    // for the whole call, so a row's logits depend on the other rows of the forward.
    const [quantized, scale, zeroPoint] = g.op('DynamicQuantizeLinear', [x], {}, 3);
    const product = g.op1('MatMulInteger', [
      quantized,
      `${name}.uint8`,
      zeroPoint,
      `${name}.zero_point`,
    ]);
    const combined = g.op1('Mul', [scale, `${name}.scale`]);
    return g.op1('Mul', [g.op1('Cast', [product], { to: ElemType.float }), combined]);
  }
  if (dtype === 'q8') {
    // Symmetric int8 activations with one scale per row: integer products are exact, so each row's result
    // is the same whatever other rows share the forward (verifying a draft gives the logits of decoding).
    const rowMax = g.op1('ReduceMax', [g.op1('Abs', [x])], { axes: [-1], keepdims: 1 }); // [1, n, 1]
    const scale = g.op1('Div', [g.op1('Max', [rowMax, ctx.tiny]), ctx.int8Max]);
    const rounded = g.op1('Round', [g.op1('Div', [x, scale])]);
    const quantized = g.op1('Cast', [rounded], { to: ElemType.int8 });
    const product = g.op1('MatMulInteger', [quantized, `${name}.int8`]);
    return g.op1('Mul', [
      g.op1('Mul', [g.op1('Cast', [product], { to: ElemType.float }), scale]),
      `${name}.scale`,
    ]);
  }
  if (dtype === 'q4' || dtype === 'q4f16') {
    return g.contrib('MatMulNBits', [x, `${name}.q4`, `${name}.scale`, `${name}.zero_point`], {
      K: rows,
      N: columns,
      bits: 4,
      block_size: 32,
    });
  }
  return g.op1('MatMul', [x, name]);
}

/** RMSNorm as Pow/ReduceMean/Add/Sqrt/Div/Mul, the pattern ONNX Runtime fuses into SimplifiedLayerNormalization. */
function rmsNorm(ctx: Context, g: GraphWriter, x: string, weight: string): string {
  const squared = g.op1('Pow', [x, ctx.two]);
  const mean = g.op1('ReduceMean', [squared], { axes: [-1], keepdims: 1 });
  const root = g.op1('Sqrt', [g.op1('Add', [mean, ctx.eps])]);
  return g.op1('Mul', [g.op1('Div', [x, root]), weight]);
}

function scalarF32(g: GraphWriter, name: string, value: number): string {
  return g.float(name, [], new Float32Array([value]));
}

/** The built-in causal mask [n, past + n] (0 or MASKED), also honouring zeros in attention_mask. */
function causalBias(ctx: Context, pastKey: string, rowsInput = 'input_ids'): string {
  const { g } = ctx;
  const past = g.op1('Shape', [pastKey], { start: 2, end: 3 });
  const n = g.op1('Shape', [rowsInput], { start: 1, end: 2 });
  const total = g.op1('Add', [past, n]);
  const zero = g.int64([], [0]);
  const one = g.int64([], [1]);
  const squeezeAxes = g.int64([1], [0]);
  const pastScalar = g.op1('Squeeze', [past, squeezeAxes]);
  const totalScalar = g.op1('Squeeze', [total, squeezeAxes]);
  const columns = g.op1('Unsqueeze', [g.op1('Range', [zero, totalScalar, one]), squeezeAxes]); // [1, T]
  const rows = g.op1('Unsqueeze', [
    g.op1('Range', [pastScalar, totalScalar, one]),
    g.int64([1], [1]),
  ]); // [n, 1]
  const causal = g.op1('LessOrEqual', [columns, rows]); // [n, T]
  const real = g.op1('Cast', ['attention_mask'], { to: ElemType.bool }); // [1, T]
  const allowed = g.op1('And', [causal, real]);
  return g.op1('Where', [
    allowed,
    scalarF32(g, 'mask_zero', 0),
    scalarF32(g, 'mask_masked', MASKED),
  ]);
}

/** Attention (given rotated q and the full K/V), output projection and the SwiGLU MLP, with both residuals. */
function attentionAndMlp(
  ctx: Context,
  g: GraphWriter,
  layer: number,
  x: string,
  q: string,
  keys: string,
  values: string,
  bias: string,
  output?: string,
  /** The attention's output [1, n, dim] when an operator computed it already (GroupQueryAttention). */
  attended?: string,
): string {
  if (attended !== undefined) return mlp(ctx, g, layer, x, attended, output);
  const hyper = ctx.hyper;
  if (hyper === undefined || (hyper.layers !== undefined && !hyper.layers.has(layer))) {
    return mlp(ctx, g, layer, x, attention(ctx, g, q, keys, values, bias), output);
  }
  // HyperAttention on a long prefill; otherwise the exact operators, unchanged.
  const { numHeads: heads, numKvHeads: kvHeads, dim } = ctx.config;
  const approximate = g.subgraph();
  const expand = (value: string) =>
    approximate.op1('Reshape', [
      approximate.op1('Expand', [
        approximate.op1('Unsqueeze', [value, approximate.int64([1], [2])]),
        approximate.int64([5], [1, 1, heads / kvHeads, 1, 1]),
      ]),
      approximate.int64([4], [1, heads, -1, ctx.headDim]),
    ]);
  const context = hyper.write(approximate, q, expand(keys), expand(values));
  approximate.output(
    approximate.op1('Reshape', [
      approximate.op1('Transpose', [context], { perm: [0, 2, 1, 3] }),
      approximate.int64([3], [0, 0, dim]),
    ]),
    ElemType.float,
  );
  const exact = g.subgraph();
  exact.output(
    exact.op1('Identity', [attention(ctx, exact, q, keys, values, bias)]),
    ElemType.float,
  );
  const merged = g.op1('If', [hyper.active], {
    then_branch: approximate.toGraph(`hyper_attention_${layer}`),
    else_branch: exact.toGraph(`attention_${layer}`),
  });
  return mlp(ctx, g, layer, x, merged, output);
}

/** Exact attention: softmax(q·Kᵀ + bias)·V merged to [1, n, dim] (q carries the 1/√D scale). */
function attention(
  ctx: Context,
  g: GraphWriter,
  q: string,
  keys: string,
  values: string,
  bias: string,
): string {
  const { numHeads: heads, numKvHeads: kvHeads, dim } = ctx.config;
  const grouped = heads !== kvHeads;
  const qGrouped = grouped ? g.op1('Reshape', [q, g.int64([4], [0, kvHeads, -1, ctx.headDim])]) : q;
  const keysT = g.op1('Transpose', [keys], { perm: [0, 1, 3, 2] });
  let scores = g.op1('MatMul', [qGrouped, keysT]); // [1, kvHeads, group * n, T]
  if (grouped) scores = g.op1('Reshape', [scores, g.int64([4], [0, heads, -1, 0])]); // [1, heads, n, T]
  const probs = g.op1('Softmax', [g.op1('Add', [scores, bias])], { axis: -1 });
  const probsGrouped = grouped
    ? g.op1('Reshape', [probs, g.int64([4], [0, kvHeads, -1, 0])])
    : probs;
  let context = g.op1('MatMul', [probsGrouped, values]); // [1, kvHeads, group * n, D]
  if (grouped) context = g.op1('Reshape', [context, g.int64([4], [0, heads, -1, ctx.headDim])]);
  return g.op1('Reshape', [
    g.op1('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.int64([3], [0, 0, dim]),
  ]);
}

/** The output projection of the attention `merged` [1, n, dim], the SwiGLU MLP, and both residuals. */
function mlp(
  ctx: Context,
  g: GraphWriter,
  layer: number,
  x: string,
  merged: string,
  output?: string,
): string {
  const dim = ctx.config.dim;
  const afterAttention = g.op1('Add', [x, linear(ctx, g, merged, `layers.${layer}.wo`, dim, dim)]);
  const normed = rmsNorm(ctx, g, afterAttention, `layers.${layer}.rms_ffn`);
  const [gate, up] = g.op(
    'Split',
    [
      linear(ctx, g, normed, `layers.${layer}.w13`, dim, 2 * ctx.config.hiddenDim),
      g.int64([2], [ctx.config.hiddenDim, ctx.config.hiddenDim]),
    ],
    { axis: -1 },
    2,
  );
  const activated = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]);
  return g.op1(
    'Add',
    [afterAttention, linear(ctx, g, activated, `layers.${layer}.w2`, ctx.config.hiddenDim, dim)],
    {},
    output,
  );
}

function addLayerWeights(
  ctx: Context,
  config: LlamaConfig,
  weights: LlamaWeights,
  layer: number,
  mlpWeights: LlamaGraphOptions['mlpWeights'],
): void {
  const g = ctx.g;
  const { dim, hiddenDim, numHeads, numKvHeads } = config;
  const kvDim = (dim * numKvHeads) / numHeads;
  const slice = (array: Float32Array, size: number) =>
    array.subarray(layer * size, (layer + 1) * size);
  const wq = slice(weights.wq, dim * dim);
  const wk = slice(weights.wk, kvDim * dim);
  const wv = slice(weights.wv, kvDim * dim);
  g.float(`layers.${layer}.rms_att`, [dim], slice(weights.rmsAtt, dim));
  const qkvWidth = 2 * (dim + kvDim) + kvDim;
  storeLinear(ctx, `layers.${layer}.wqkv`, dim, qkvWidth, fusedQkv(config, wq, wk, wv));
  storeLinear(
    ctx,
    `layers.${layer}.wo`,
    dim,
    dim,
    transposed(slice(weights.wo, dim * dim), dim, dim),
  );
  g.float(`layers.${layer}.rms_ffn`, [dim], slice(weights.rmsFfn, dim));
  if (mlpWeights) {
    // Cost twins: the MLP weights were streamed to external data (fp32 only).
    mlpWeights(g, layer);
    return;
  }
  storeLinear(
    ctx,
    `layers.${layer}.w13`,
    dim,
    2 * hiddenDim,
    fusedGateUp(
      slice(weights.w1, hiddenDim * dim),
      slice(weights.w3, hiddenDim * dim),
      hiddenDim,
      dim,
    ),
  );
  storeLinear(
    ctx,
    `layers.${layer}.w2`,
    hiddenDim,
    dim,
    transposed(slice(weights.w2, dim * hiddenDim), dim, hiddenDim),
  );
}

const MLP_WEIGHTS = new Set(['w1', 'w2', 'w3']);

function validate(config: LlamaConfig, weights: LlamaWeights, externalMlp: boolean): void {
  const { dim, numHeads, numKvHeads } = config;
  if (dim % numHeads !== 0 || numHeads % numKvHeads !== 0 || (dim / numHeads) % 2 !== 0) {
    throw new InvalidArgumentError({
      argument: 'config',
      message: `dim ${dim} must split into ${numHeads} heads of even size, and numHeads must be a multiple of numKvHeads (${numKvHeads}).`,
    });
  }
  const sizes: Array<[string, number]> = [...weightSizes(config)];
  if (!config.tiedEmbeddings) sizes.push(['wcls', config.vocabSize * dim]);
  for (const [name, size] of sizes) {
    if (externalMlp && MLP_WEIGHTS.has(name)) continue;
    const tensor = (weights as unknown as Record<string, Float32Array | undefined>)[name];
    if (!tensor || tensor.length !== size) {
      throw new InvalidArgumentError({
        argument: `weights.${name}`,
        message: `expected ${size} floats for this config but got ${tensor?.length ?? 'none'}.`,
      });
    }
  }
}

/**
 * Builds the fp32 ONNX decoder graph of a Llama-2 style model with the I/O of docs/graph-io.md: RMSNorm,
 * RoPE (theta over head size, llama2.c's adjacent pairs, cos/sin tables gathered by `position_ids`), GQA
 * attention with a KV cache, SwiGLU MLP, tied or separate classifier. Weights are stored pre-transposed
 * (and Q/K/V and gate/up fused) so every projection is one MatMul.
 *
 * @returns the serialized ModelProto (IR 8, opset 17)
 * @throws InvalidArgumentError when the weights do not fit the config
 */
export function buildLlamaGraph(
  config: LlamaConfig,
  weights: LlamaWeights,
  options: LlamaGraphOptions = {},
): Uint8Array {
  validate(config, weights, options.mlpWeights !== undefined);
  const plain = options.plain ?? false;
  const withBias = options.attentionBias ?? !plain;
  const withHidden = options.hiddenStates ?? !plain;
  const withSkip = options.skipLayers ?? !plain;
  const withEmbeds = options.inputsEmbeds ?? false;
  const dtype = options.dtype ?? 'fp32';
  const withPositionIds = options.positionIds ?? true;
  const withCacheBranch = options.useCacheBranch ?? false;
  const withoutPast = options.withoutPast ?? false;
  const withLogitsToKeep = options.logitsToKeep ?? false;
  const groupQuery = (options.attention ?? 'decomposed') === 'group-query';
  if (groupQuery && options.hyperAttention !== undefined) {
    throw new InvalidArgumentError({
      argument: 'hyperAttention',
      message: "needs attention: 'decomposed' (GroupQueryAttention is one fused operator).",
    });
  }
  const hyperSettings =
    options.hyperAttention === undefined
      ? undefined
      : hyperAttentionSettings(options.hyperAttention, config.numLayers);
  if (groupQuery && (withBias || withSkip || withEmbeds || dtype === 'fp16' || dtype === 'q4f16')) {
    throw new InvalidArgumentError({
      argument: 'attention',
      message:
        'group-query attention is built for plain graphs with float32 I/O (no attention_bias, skip_layers, inputs_embeds, fp16 or q4f16).',
    });
  }
  const fusedRotary = options.groupQueryRotary ?? false;
  if (fusedRotary && (!groupQuery || headDimOf(config) % 16 !== 0)) {
    throw new InvalidArgumentError({
      argument: 'groupQueryRotary',
      message: `needs attention: 'group-query' and a head size that is a multiple of 16 (got ${headDimOf(config)}).`,
    });
  }
  if (!GRAPH_DTYPES.includes(dtype)) {
    throw new InvalidArgumentError({
      argument: 'dtype',
      message: `must be one of ${GRAPH_DTYPES.join(', ')}, got ${String(dtype)}.`,
    });
  }
  if (withBias && !withPositionIds) {
    throw new InvalidArgumentError({
      argument: 'positionIds',
      message:
        'a graph without position_ids serves chains only; build it without attentionBias (plain).',
    });
  }
  if (withCacheBranch && withoutPast) {
    throw new InvalidArgumentError({
      argument: 'useCacheBranch',
      message:
        'a merged decoder takes past inputs; withoutPast builds the first graph of a split pair instead.',
    });
  }
  const { vocabSize, dim, numLayers, numHeads, numKvHeads, contextLength } = config;
  const headDim = headDimOf(config);
  // float16 I/O: the KV cache, the logits and the embedding table are float16; the arithmetic stays float32.
  const halfIO = dtype === 'fp16' || dtype === 'q4f16';
  const kvElem = halfIO ? ElemType.float16 : ElemType.float;
  const g = createGraphWriter();
  const ctx: Context = {
    g,
    config,
    headDim,
    eps: scalarF32(g, 'rms_eps', config.rmsNormEps ?? 1e-5),
    two: scalarF32(g, 'two', 2),
    dtype,
    q8Activations: options.q8Activations ?? 'per-row',
    ...(dtype === 'q8' && options.q8Activations !== 'per-tensor'
      ? { tiny: scalarF32(g, 'q8_tiny', 1e-30), int8Max: scalarF32(g, 'q8_max', 127) }
      : { tiny: '', int8Max: '' }),
  };

  if (withEmbeds) g.input('inputs_embeds', ElemType.float, [1, 'sequence_length', dim]);
  else g.input('input_ids', ElemType.int64, [1, 'sequence_length']);
  g.input('attention_mask', ElemType.int64, [1, 'total_sequence_length']);
  if (withPositionIds) g.input('position_ids', ElemType.int64, [1, 'sequence_length']);
  const pastInput = (i: number, kind: string) => `past_key_values.${i}.${kind}`;
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value']) {
      if (withoutPast) {
        // The first graph of a split pair: an empty cache of the same layout, as a constant.
        g.tensor(pastInput(i, kind), [1, numKvHeads, 0, headDim], kvElem, new Uint8Array(0));
      } else {
        g.input(pastInput(i, kind), kvElem, [1, numKvHeads, 'past_sequence_length', headDim]);
      }
    }
  }
  if (withCacheBranch) g.input('use_cache_branch', ElemType.bool, [1]);
  if (withLogitsToKeep) g.input('num_logits_to_keep', ElemType.int64, []);
  if (withBias)
    g.input('attention_bias', ElemType.float, [1, 1, 'sequence_length', 'total_sequence_length']);
  if (withSkip) g.input('skip_layers', ElemType.bool, [numLayers]);

  if (halfIO) {
    g.tensor(
      'embed_tokens.fp16',
      [vocabSize, dim],
      ElemType.float16,
      toFloat16(weights.tokenEmbedding),
    );
    g.op1('Cast', ['embed_tokens.fp16'], { to: ElemType.float }, 'embed_tokens');
  } else {
    g.float('embed_tokens', [vocabSize, dim], weights.tokenEmbedding);
  }
  const { cos, sin } = ropeTables(contextLength, headDim, config.ropeTheta ?? 10000);
  g.float('rope_cos', [contextLength, headDim / 2], cos);
  g.float('rope_sin', [contextLength, headDim / 2], sin);
  for (let i = 0; i < numLayers; i++) addLayerWeights(ctx, config, weights, i, options.mlpWeights);
  g.float('norm', [dim], weights.rmsFinal);

  // The past the layers read: a merged decoder's prompt branch (use_cache_branch false) ignores the inputs.
  const past: string[] = [];
  for (let i = 0; i < numLayers; i++)
    for (const kind of ['key', 'value']) past.push(pastInput(i, kind));
  let pastOf = (i: number, kind: string) => past[2 * i + (kind === 'key' ? 0 : 1)];
  if (withCacheBranch) {
    const withCache = g.subgraph();
    const noCache = g.subgraph();
    const emptyStart = g.int64([1], [0]);
    const emptyAxis = g.int64([1], [2]);
    const selected = past.map(name => {
      withCache.output(withCache.op1('Identity', [name]), kvElem);
      noCache.output(noCache.op1('Slice', [name, emptyStart, emptyStart, emptyAxis]), kvElem);
      return name;
    });
    const outputs = g.op(
      'If',
      ['use_cache_branch'],
      {
        then_branch: withCache.toGraph('with_cache'),
        else_branch: noCache.toGraph('without_cache'),
      },
      selected.length,
    );
    pastOf = (i, kind) => outputs[2 * i + (kind === 'key' ? 0 : 1)];
  }

  // Per-call tensors shared by every layer.
  const rowsInput = withEmbeds ? 'inputs_embeds' : 'input_ids';
  let x = withEmbeds
    ? 'inputs_embeds'
    : g.op1('Gather', ['embed_tokens', 'input_ids'], { axis: 0 }); // [1, n, dim]
  let positions = 'position_ids';
  if (!withPositionIds) {
    // Positions past .. past + n - 1, counted from the cache length (a chain).
    const squeezeAxes = g.int64([1], [0]);
    const pastLength = g.op1('Squeeze', [
      g.op1('Shape', [pastOf(0, 'key')], { start: 2, end: 3 }),
      squeezeAxes,
    ]);
    const rows = g.op1('Squeeze', [g.op1('Shape', [rowsInput], { start: 1, end: 2 }), squeezeAxes]);
    const range = g.op1('Range', [pastLength, g.op1('Add', [pastLength, rows]), g.int64([], [1])]);
    positions = g.op1('Unsqueeze', [range, squeezeAxes]); // [1, n]
  }
  const ropeTable = (table: string) => {
    const half = g.op1('Gather', [table, positions], { axis: 0 }); // [1, n, D/2]
    const full = g.op1('Concat', [half, half], { axis: -1 }); // [1, n, D]
    return g.op1('Unsqueeze', [full, g.int64([1], [1])]); // [1, 1, n, D]
  };
  // GroupQueryAttention with do_rotary gathers the tables itself.
  const ropeCos = fusedRotary ? '' : ropeTable('rope_cos');
  const ropeSin = fusedRotary ? '' : ropeTable('rope_sin');
  const bias = withBias ? 'attention_bias' : causalBias(ctx, pastOf(0, 'key'), rowsInput);
  let layerCtx = ctx;
  if (hyperSettings !== undefined) {
    // HyperAttention runs on a prefill of more than minSeqLen rows on an empty cache.
    const scalar = (shape: string) => g.op1('Squeeze', [shape, g.int64([1], [0])]);
    const pastRows = scalar(g.op1('Shape', [pastOf(0, 'key')], { start: 2, end: 3 }));
    const rows = scalar(g.op1('Shape', [rowsInput], { start: 1, end: 2 }));
    layerCtx = {
      ...ctx,
      hyper: {
        write: hyperAttentionWriter(g, hyperSettings, headDim, numHeads, contextLength),
        ...(hyperSettings.layers === undefined ? {} : { layers: new Set(hyperSettings.layers) }),
        active: g.op1('And', [
          g.op1('Equal', [pastRows, g.int64([], [0])]),
          g.op1('Greater', [rows, g.int64([], [hyperSettings.minSeqLen])]),
        ]),
      },
    };
  }
  const qkvShape = g.int64([4], [0, 0, 2 * (numHeads + numKvHeads) + numKvHeads, headDim]);
  const qkvSplit = g.int64([3], [numHeads + numKvHeads, numHeads + numKvHeads, numKvHeads]);
  const qkSplit = g.int64([2], [numHeads, numKvHeads]);
  const qkvWidth = 2 * (dim + (dim * numKvHeads) / numHeads) + (dim * numKvHeads) / numHeads;
  let seqlensK = '';
  let totalLength = '';
  if (groupQuery) {
    // seqlens_k = (number of real positions) - 1 and total_sequence_length, from attention_mask, as the
    // onnxruntime-genai model builder computes them.
    const real = g.op1('ReduceSum', ['attention_mask', g.int64([1], [1])], { keepdims: 0 }); // [1]
    seqlensK = g.op1('Cast', [g.op1('Sub', [real, g.int64([], [1])])], { to: ElemType.int32 });
    const total = g.op1('Shape', ['attention_mask'], { start: 1, end: 2 });
    totalLength = g.op1('Cast', [g.op1('Squeeze', [total, g.int64([1], [0])])], {
      to: ElemType.int32,
    });
  }

  for (let i = 0; i < numLayers; i++) {
    const normed = rmsNorm(ctx, g, x, `layers.${i}.rms_att`);
    const qkv = g.op1('Reshape', [
      linear(ctx, g, normed, `layers.${i}.wqkv`, dim, qkvWidth),
      qkvShape,
    ]); // [1, n, heads', D]
    const qkvT = g.op1('Transpose', [qkv], { perm: [0, 2, 1, 3] }); // [1, heads', n, D]
    const [plainQk, rotatedQk, v] = g.op('Split', [qkvT, qkvSplit], { axis: 1 }, 3);
    const qk = fusedRotary
      ? plainQk
      : g.op1('Add', [g.op1('Mul', [plainQk, ropeCos]), g.op1('Mul', [rotatedQk, ropeSin])]);
    const [q, k] = g.op('Split', [qk, qkSplit], { axis: 1 }, 2);
    if (groupQuery) {
      // Rotated Q and K and V as [1, n, heads * D]; GroupQueryAttention attends (causal, from seqlens_k and
      // total_sequence_length) and writes present.{i}.* as past ++ the new rows. Its own rotary embedding
      // (do_rotary) needs head sizes that are multiples of 16, so by default the rotation stays outside.
      const flat = (value: string) =>
        g.op1('Reshape', [
          g.op1('Transpose', [value], { perm: [0, 2, 1, 3] }),
          g.int64([3], [0, 0, -1]),
        ]);
      const [attended] = g.op(
        'GroupQueryAttention',
        [
          flat(q),
          flat(k),
          flat(v),
          pastOf(i, 'key'),
          pastOf(i, 'value'),
          seqlensK,
          totalLength,
          ...(fusedRotary ? ['rope_cos', 'rope_sin'] : []),
        ],
        // Q is pre-scaled by 1/sqrt(D) in the weights (graph-weights.ts), so the operator must not scale again.
        {
          num_heads: numHeads,
          kv_num_heads: numKvHeads,
          scale: { f: 1 },
          ...(fusedRotary ? { do_rotary: 1 } : {}),
        },
        [`/GroupQueryAttention_${i}/0`, `present.${i}.key`, `present.${i}.value`],
        MS_DOMAIN,
      );
      x = attentionAndMlp(ctx, g, i, x, '', '', '', '', undefined, attended);
      continue;
    }
    let keys: string;
    let values: string;
    if (halfIO) {
      // The cache is float16: new keys and values are rounded once, and attention reads the rounded cache.
      const toHalf = (value: string) => g.op1('Cast', [value], { to: ElemType.float16 });
      const toFloat = (value: string) => g.op1('Cast', [value], { to: ElemType.float });
      keys = toFloat(
        g.op1('Concat', [pastOf(i, 'key'), toHalf(k)], { axis: 2 }, `present.${i}.key`),
      );
      values = toFloat(
        g.op1('Concat', [pastOf(i, 'value'), toHalf(v)], { axis: 2 }, `present.${i}.value`),
      );
    } else {
      keys = g.op1('Concat', [pastOf(i, 'key'), k], { axis: 2 }, `present.${i}.key`);
      values = g.op1('Concat', [pastOf(i, 'value'), v], { axis: 2 }, `present.${i}.value`);
    }
    if (!withSkip) {
      x = attentionAndMlp(layerCtx, g, i, x, q, keys, values, bias);
      continue;
    }
    const skip = g.subgraph();
    const skipOut = skip.op1('Identity', [x], {}, `layers.${i}.skipped`);
    skip.output(skipOut, ElemType.float);
    const run = g.subgraph();
    const runOut = attentionAndMlp(
      layerCtx,
      run,
      i,
      x,
      q,
      keys,
      values,
      bias,
      `layers.${i}.computed`,
    );
    run.output(runOut, ElemType.float);
    const flag = g.op1('Gather', ['skip_layers', g.int64([], [i])], { axis: 0 });
    x = g.op1(
      'If',
      [flag],
      { then_branch: skip.toGraph(`skip_${i}`), else_branch: run.toGraph(`layer_${i}`) },
      `layers.${i}.output`,
    );
  }

  const hidden = rmsNorm(ctx, g, x, 'norm');
  if (withHidden) {
    g.op1('Identity', [hidden], {}, 'hidden_states');
    g.output('hidden_states', ElemType.float, [1, 'sequence_length', dim]);
  }
  let classifierInput = hidden;
  if (withLogitsToKeep) {
    // Only the last num_logits_to_keep rows reach the classifier.
    const keep = g.op1('Unsqueeze', ['num_logits_to_keep', g.int64([1], [0])]);
    classifierInput = g.op1('Slice', [
      hidden,
      g.op1('Neg', [keep]),
      g.int64([1], [Number.MAX_SAFE_INTEGER]),
      g.int64([1], [1]),
    ]);
  }
  let classifier: string;
  if (config.tiedEmbeddings) {
    // ONNX Runtime constant-folds this Transpose at load, so the file stores the embedding once.
    classifier = g.op1('Transpose', ['embed_tokens'], { perm: [1, 0] });
  } else {
    invariant(weights.wcls !== undefined, 'untied checkpoints carry wcls');
    classifier = g.float('lm_head', [dim, vocabSize], transposed(weights.wcls, vocabSize, dim));
  }
  const logitsElem = halfIO ? ElemType.float16 : ElemType.float;
  if (halfIO)
    g.op1(
      'Cast',
      [g.op1('MatMul', [classifierInput, classifier])],
      { to: ElemType.float16 },
      'logits',
    );
  else g.op1('MatMul', [classifierInput, classifier], {}, 'logits');
  g.output('logits', logitsElem, [
    1,
    withLogitsToKeep ? 'logits_rows' : 'sequence_length',
    vocabSize,
  ]);
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value']) {
      g.output(`present.${i}.${kind}`, kvElem, [1, numKvHeads, 'total_sequence_length', headDim]);
    }
  }
  const metadata: Record<string, string> = { 'decodekit.graph': plain ? 'plain' : 'extended' };
  if (withEmbeds) metadata['decodekit.inputs'] = 'inputs_embeds';
  if (dtype !== 'fp32') metadata['decodekit.dtype'] = dtype;
  if (options.name) metadata['decodekit.name'] = options.name;
  return encodeModel(g.toGraph('llama'), { metadata });
}

/** A token embedding table read from a graph. */
export interface EmbeddingTable {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** Row i is token i's input embedding (= its classifier column when the embeddings are tied). [vocab, hidden] */
  readonly data: Float32Array;
}

/**
 * Reads the token embedding table (the `embed_tokens` initializer, also the classifier of tied models) of
 * a graph built by {@link buildLlamaGraph}, e.g. `onnx/model.onnx` of a converted folder, so that callers can
 * form input embeddings in JavaScript for an `inputsEmbeds` graph.
 *
 * @throws ModelFormatError when the graph has no float32 `embed_tokens` [vocab, hidden] initializer
 */
export function readEmbeddingTable(onnx: Uint8Array): EmbeddingTable {
  const graph = decodeModel(onnx).graph;
  const tensor = graph?.initializer?.find(initializer => initializer.name === 'embed_tokens');
  const dims = (tensor?.dims ?? []).map(Number);
  if (!tensor || dims.length !== 2 || tensor.dataType !== ElemType.float) {
    throw new ModelFormatError({
      path: 'onnx/model.onnx',
      message:
        'has no float32 `embed_tokens` [vocab, hidden] initializer (only graphs built by decodekit are read).',
    });
  }
  const [vocabSize, hiddenSize] = dims;
  let data: Float32Array;
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    data = new Float32Array(vocabSize * hiddenSize);
    new Uint8Array(data.buffer).set(raw.subarray(0, data.byteLength));
  } else {
    data = Float32Array.from(tensor.floatData ?? []);
  }
  if (data.length !== vocabSize * hiddenSize) {
    throw new ModelFormatError({
      path: 'onnx/model.onnx',
      message: `embed_tokens holds ${data.length} floats, expected ${vocabSize * hiddenSize}.`,
    });
  }
  return { vocabSize, hiddenSize, data };
}
