import { InvalidArgumentError, ModelFormatError } from '@decodekit/core';
import { type LlamaConfig, type LlamaWeights, headDimOf, weightSizes } from './llama-config.js';
import { fusedGateUp, fusedQkv, ropeTables, transposed } from './graph-weights.js';
import { ElemType, type GraphWriter, createGraphWriter, decodeModel, encodeModel } from './onnx-writer.js';

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
}

/** Value used by the built-in causal mask for masked positions. */
const MASKED = -1e9;

interface Context {
  readonly g: GraphWriter;
  readonly config: LlamaConfig;
  readonly headDim: number;
  readonly eps: string;
  readonly two: string;
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
  const merged = g.op1('Reshape', [
    g.op1('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.int64([3], [0, 0, dim]),
  ]);
  const afterAttention = g.op1('Add', [x, g.op1('MatMul', [merged, `layers.${layer}.wo`])]);
  const normed = rmsNorm(ctx, g, afterAttention, `layers.${layer}.rms_ffn`);
  const [gate, up] = g.op(
    'Split',
    [
      g.op1('MatMul', [normed, `layers.${layer}.w13`]),
      g.int64([2], [ctx.config.hiddenDim, ctx.config.hiddenDim]),
    ],
    { axis: -1 },
    2,
  );
  const activated = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]);
  return g.op1(
    'Add',
    [afterAttention, g.op1('MatMul', [activated, `layers.${layer}.w2`])],
    {},
    output,
  );
}

function addLayerWeights(
  g: GraphWriter,
  config: LlamaConfig,
  weights: LlamaWeights,
  layer: number,
  mlpWeights: LlamaGraphOptions['mlpWeights'],
): void {
  const { dim, hiddenDim, numHeads, numKvHeads } = config;
  const kvDim = (dim * numKvHeads) / numHeads;
  const slice = (array: Float32Array, size: number) =>
    array.subarray(layer * size, (layer + 1) * size);
  const wq = slice(weights.wq, dim * dim);
  const wk = slice(weights.wk, kvDim * dim);
  const wv = slice(weights.wv, kvDim * dim);
  g.float(`layers.${layer}.rms_att`, [dim], slice(weights.rmsAtt, dim));
  g.float(`layers.${layer}.wqkv`, [dim, 2 * (dim + kvDim) + kvDim], fusedQkv(config, wq, wk, wv));
  g.float(`layers.${layer}.wo`, [dim, dim], transposed(slice(weights.wo, dim * dim), dim, dim));
  g.float(`layers.${layer}.rms_ffn`, [dim], slice(weights.rmsFfn, dim));
  if (mlpWeights) {
    mlpWeights(g, layer);
    return;
  }
  g.float(
    `layers.${layer}.w13`,
    [dim, 2 * hiddenDim],
    fusedGateUp(
      slice(weights.w1, hiddenDim * dim),
      slice(weights.w3, hiddenDim * dim),
      hiddenDim,
      dim,
    ),
  );
  g.float(
    `layers.${layer}.w2`,
    [hiddenDim, dim],
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
  const { vocabSize, dim, numLayers, numHeads, numKvHeads, contextLength } = config;
  const headDim = headDimOf(config);
  const g = createGraphWriter();
  const ctx: Context = {
    g,
    config,
    headDim,
    eps: scalarF32(g, 'rms_eps', config.rmsNormEps ?? 1e-5),
    two: scalarF32(g, 'two', 2),
  };

  if (withEmbeds) g.input('inputs_embeds', ElemType.float, [1, 'sequence_length', dim]);
  else g.input('input_ids', ElemType.int64, [1, 'sequence_length']);
  g.input('attention_mask', ElemType.int64, [1, 'total_sequence_length']);
  g.input('position_ids', ElemType.int64, [1, 'sequence_length']);
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value']) {
      g.input(`past_key_values.${i}.${kind}`, ElemType.float, [
        1,
        numKvHeads,
        'past_sequence_length',
        headDim,
      ]);
    }
  }
  if (withBias)
    g.input('attention_bias', ElemType.float, [1, 1, 'sequence_length', 'total_sequence_length']);
  if (withSkip) g.input('skip_layers', ElemType.bool, [numLayers]);

  g.float('embed_tokens', [vocabSize, dim], weights.tokenEmbedding);
  const { cos, sin } = ropeTables(contextLength, headDim, config.ropeTheta ?? 10000);
  g.float('rope_cos', [contextLength, headDim / 2], cos);
  g.float('rope_sin', [contextLength, headDim / 2], sin);
  for (let i = 0; i < numLayers; i++) addLayerWeights(g, config, weights, i, options.mlpWeights);
  g.float('norm', [dim], weights.rmsFinal);

  // Per-call tensors shared by every layer.
  let x = withEmbeds ? 'inputs_embeds' : g.op1('Gather', ['embed_tokens', 'input_ids'], { axis: 0 }); // [1, n, dim]
  const ropeTable = (table: string) => {
    const half = g.op1('Gather', [table, 'position_ids'], { axis: 0 }); // [1, n, D/2]
    const full = g.op1('Concat', [half, half], { axis: -1 }); // [1, n, D]
    return g.op1('Unsqueeze', [full, g.int64([1], [1])]); // [1, 1, n, D]
  };
  const ropeCos = ropeTable('rope_cos');
  const ropeSin = ropeTable('rope_sin');
  const bias = withBias
    ? 'attention_bias'
    : causalBias(ctx, 'past_key_values.0.key', withEmbeds ? 'inputs_embeds' : 'input_ids');
  const qkvShape = g.int64([4], [0, 0, 2 * (numHeads + numKvHeads) + numKvHeads, headDim]);
  const qkvSplit = g.int64([3], [numHeads + numKvHeads, numHeads + numKvHeads, numKvHeads]);
  const qkSplit = g.int64([2], [numHeads, numKvHeads]);

  for (let i = 0; i < numLayers; i++) {
    const normed = rmsNorm(ctx, g, x, `layers.${i}.rms_att`);
    const qkv = g.op1('Reshape', [g.op1('MatMul', [normed, `layers.${i}.wqkv`]), qkvShape]); // [1, n, heads', D]
    const qkvT = g.op1('Transpose', [qkv], { perm: [0, 2, 1, 3] }); // [1, heads', n, D]
    const [plainQk, rotatedQk, v] = g.op('Split', [qkvT, qkvSplit], { axis: 1 }, 3);
    const qk = g.op1('Add', [g.op1('Mul', [plainQk, ropeCos]), g.op1('Mul', [rotatedQk, ropeSin])]);
    const [q, k] = g.op('Split', [qk, qkSplit], { axis: 1 }, 2);
    const keys = g.op1('Concat', [`past_key_values.${i}.key`, k], { axis: 2 }, `present.${i}.key`);
    const values = g.op1(
      'Concat',
      [`past_key_values.${i}.value`, v],
      { axis: 2 },
      `present.${i}.value`,
    );
    if (!withSkip) {
      x = attentionAndMlp(ctx, g, i, x, q, keys, values, bias);
      continue;
    }
    const skip = g.subgraph();
    const skipOut = skip.op1('Identity', [x], {}, `layers.${i}.skipped`);
    skip.output(skipOut, ElemType.float);
    const run = g.subgraph();
    const runOut = attentionAndMlp(ctx, run, i, x, q, keys, values, bias, `layers.${i}.computed`);
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
  let classifier: string;
  if (config.tiedEmbeddings) {
    // ONNX Runtime constant-folds this Transpose at load, so the file stores the embedding once.
    classifier = g.op1('Transpose', ['embed_tokens'], { perm: [1, 0] });
  } else {
    classifier = g.float('lm_head', [dim, vocabSize], transposed(weights.wcls!, vocabSize, dim));
  }
  g.op1('MatMul', [hidden, classifier], {}, 'logits');
  g.output('logits', ElemType.float, [1, 'sequence_length', vocabSize]);
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value']) {
      g.output(`present.${i}.${kind}`, ElemType.float, [
        1,
        numKvHeads,
        'total_sequence_length',
        headDim,
      ]);
    }
  }
  const metadata: Record<string, string> = { 'decodekit.graph': plain ? 'plain' : 'extended' };
  if (withEmbeds) metadata['decodekit.inputs'] = 'inputs_embeds';
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
      message: 'has no float32 `embed_tokens` [vocab, hidden] initializer (only graphs built by decodekit are read).',
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
    throw new ModelFormatError({ path: 'onnx/model.onnx', message: `embed_tokens holds ${data.length} floats, expected ${vocabSize * hiddenSize}.` });
  }
  return { vocabSize, hiddenSize, data };
}
