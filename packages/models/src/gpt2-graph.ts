import { InvalidArgumentError } from '@decodekit/core';
import type { ConvertedModel } from './convert-llama2c.js';
import { jsonText } from './hf-config.js';
import { ElemType, createGraphWriter, encodeModel } from './onnx-writer.js';
import { seededRandom } from './seeded-random.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson } from './tokenizer-json.js';
import { charVocabulary } from './tiny-model.js';

/** Shape of a GPT-2 model (Hugging Face `GPT2Config` names in comments). */
export interface Gpt2Config {
  /** `vocab_size` */
  readonly vocabSize: number;
  /** `n_embd` */
  readonly dim: number;
  /** `n_layer` */
  readonly numLayers: number;
  /** `n_head` */
  readonly numHeads: number;
  /** `n_positions`: rows of the learned position table, the context length. */
  readonly contextLength: number;
  /** `layer_norm_epsilon` (default 1e-5). */
  readonly layerNormEps?: number;
}

/**
 * GPT-2 weights, in Hugging Face's layout (Conv1D weights are [in, out], so every projection is `x @ W`).
 * Per-layer arrays are the layers' tensors one after another.
 */
export interface Gpt2Weights {
  /** `wte` [vocab, dim], also the tied classifier. */
  readonly tokenEmbedding: Float32Array;
  /** `wpe` [contextLength, dim]: learned absolute positions. */
  readonly positionEmbedding: Float32Array;
  /** `ln_1.weight`, `ln_1.bias` [layers, dim] */
  readonly ln1Weight: Float32Array;
  readonly ln1Bias: Float32Array;
  /** `attn.c_attn` [layers, dim, 3 * dim] (q, k, v columns) and its bias [layers, 3 * dim]. */
  readonly attnWeight: Float32Array;
  readonly attnBias: Float32Array;
  /** `attn.c_proj` [layers, dim, dim] and bias [layers, dim]. */
  readonly attnProjWeight: Float32Array;
  readonly attnProjBias: Float32Array;
  /** `ln_2` [layers, dim] */
  readonly ln2Weight: Float32Array;
  readonly ln2Bias: Float32Array;
  /** `mlp.c_fc` [layers, dim, 4 * dim] and bias [layers, 4 * dim]. */
  readonly fcWeight: Float32Array;
  readonly fcBias: Float32Array;
  /** `mlp.c_proj` [layers, 4 * dim, dim] and bias [layers, dim]. */
  readonly fcProjWeight: Float32Array;
  readonly fcProjBias: Float32Array;
  /** `ln_f` [dim] */
  readonly lnFinalWeight: Float32Array;
  readonly lnFinalBias: Float32Array;
}

/** Sizes of every {@link Gpt2Weights} array for `config`. */
function gpt2WeightSizes(config: Gpt2Config): Array<[keyof Gpt2Weights, number]> {
  const { vocabSize, dim, numLayers: layers, contextLength } = config;
  return [
    ['tokenEmbedding', vocabSize * dim],
    ['positionEmbedding', contextLength * dim],
    ['ln1Weight', layers * dim],
    ['ln1Bias', layers * dim],
    ['attnWeight', layers * dim * 3 * dim],
    ['attnBias', layers * 3 * dim],
    ['attnProjWeight', layers * dim * dim],
    ['attnProjBias', layers * dim],
    ['ln2Weight', layers * dim],
    ['ln2Bias', layers * dim],
    ['fcWeight', layers * dim * 4 * dim],
    ['fcBias', layers * 4 * dim],
    ['fcProjWeight', layers * 4 * dim * dim],
    ['fcProjBias', layers * dim],
    ['lnFinalWeight', dim],
    ['lnFinalBias', dim],
  ];
}

/** float32's lowest value, which transformers' GPT-2 attention uses for masked scores. */
const FLOAT32_LOWEST = -3.4028234663852886e38;

/**
 * Builds a GPT-2 decoder graph with the standard Hugging Face I/O (docs/graph-io.md, "Standard I/O"): learned
 * absolute positions gathered by `position_ids`, LayerNorm with bias, fused c_attn projection with bias,
 * tanh-GELU MLP, tied classifier. The mask is written as transformers' eager GPT-2 attention and the
 * optimum / transformers.js exports of it write it: scores divided by √D, `Where(causal, scores, lowest)` with
 * the causal rows sliced out of a lower-triangular `bias` buffer, then `+ (1 - attention_mask) · lowest`,
 * then Softmax. So it serves chains only until `addTreeAttention` gives it an `attention_bias` input.
 *
 * @returns the serialized ModelProto (IR 8, opset 17)
 * @throws InvalidArgumentError when the weights do not fit the config
 */
export function buildGpt2Graph(
  config: Gpt2Config,
  weights: Gpt2Weights,
  { name }: { name?: string } = {},
): Uint8Array {
  const { vocabSize, dim, numLayers, numHeads, contextLength } = config;
  if (dim % numHeads !== 0) {
    throw new InvalidArgumentError({
      argument: 'config',
      message: `n_embd ${dim} must split into ${numHeads} heads of equal size.`,
    });
  }
  for (const [key, size] of gpt2WeightSizes(config)) {
    if (weights[key]?.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${key} must hold ${size} floats for this config, got ${weights[key]?.length ?? 'none'}.`,
      });
    }
  }
  const headDim = dim / numHeads;
  const g = createGraphWriter();
  g.input('input_ids', ElemType.int64, [1, 'sequence_length']);
  g.input('attention_mask', ElemType.int64, [1, 'total_sequence_length']);
  g.input('position_ids', ElemType.int64, [1, 'sequence_length']);
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value'])
      g.input(`past_key_values.${i}.${kind}`, ElemType.float, [
        1,
        numHeads,
        'past_sequence_length',
        headDim,
      ]);
  }
  const slice = (array: Float32Array, layer: number, size: number) =>
    array.subarray(layer * size, (layer + 1) * size);
  g.float('transformer.wte.weight', [vocabSize, dim], weights.tokenEmbedding);
  g.float('transformer.wpe.weight', [contextLength, dim], weights.positionEmbedding);
  // transformers registers the causal pattern as a bool buffer [1, 1, n_positions, n_positions].
  const causalBuffer = new Uint8Array(contextLength * contextLength);
  for (let row = 0; row < contextLength; row++)
    causalBuffer.fill(1, row * contextLength, row * contextLength + row + 1);
  g.tensor('attn.bias', [1, 1, contextLength, contextLength], ElemType.bool, causalBuffer);
  const eps = { f: config.layerNormEps ?? 1e-5 };
  const layerNorm = (x: string, weight: string, bias: string) =>
    g.op1('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: eps });
  const lowest = g.float('mask_lowest', [], Float32Array.of(FLOAT32_LOWEST));
  const one = g.float('one', [], Float32Array.of(1));
  const half = g.float('half', [], Float32Array.of(0.5));
  const geluCoefficient = g.float('gelu_coefficient', [], Float32Array.of(0.044715));
  const geluScale = g.float('gelu_scale', [], Float32Array.of(Math.sqrt(2 / Math.PI)));
  const three = g.float('three', [], Float32Array.of(3));
  const scoreScale = g.float('score_scale', [], Float32Array.of(Math.sqrt(headDim)));

  let x = g.op1('Add', [
    g.op1('Gather', ['transformer.wte.weight', 'input_ids'], { axis: 0 }),
    g.op1('Gather', ['transformer.wpe.weight', 'position_ids'], { axis: 0 }),
  ]); // [1, n, dim]
  // (1 - attention_mask) * lowest, as [1, 1, 1, T]: the padding part of the mask.
  const maskFloat = g.op1('Cast', ['attention_mask'], { to: ElemType.float });
  const padding = g.op1('Unsqueeze', [
    g.op1('Mul', [g.op1('Sub', [one, maskFloat]), lowest]),
    g.int64([2], [1, 2]),
  ]);
  const headsShape = g.int64([4], [0, 0, numHeads, headDim]);
  for (let i = 0; i < numLayers; i++) {
    const prefix = `transformer.h.${i}`;
    g.float(`${prefix}.ln_1.weight`, [dim], slice(weights.ln1Weight, i, dim));
    g.float(`${prefix}.ln_1.bias`, [dim], slice(weights.ln1Bias, i, dim));
    g.float(
      `${prefix}.attn.c_attn.weight`,
      [dim, 3 * dim],
      slice(weights.attnWeight, i, 3 * dim * dim),
    );
    g.float(`${prefix}.attn.c_attn.bias`, [3 * dim], slice(weights.attnBias, i, 3 * dim));
    g.float(
      `${prefix}.attn.c_proj.weight`,
      [dim, dim],
      slice(weights.attnProjWeight, i, dim * dim),
    );
    g.float(`${prefix}.attn.c_proj.bias`, [dim], slice(weights.attnProjBias, i, dim));
    g.float(`${prefix}.ln_2.weight`, [dim], slice(weights.ln2Weight, i, dim));
    g.float(`${prefix}.ln_2.bias`, [dim], slice(weights.ln2Bias, i, dim));
    g.float(`${prefix}.mlp.c_fc.weight`, [dim, 4 * dim], slice(weights.fcWeight, i, 4 * dim * dim));
    g.float(`${prefix}.mlp.c_fc.bias`, [4 * dim], slice(weights.fcBias, i, 4 * dim));
    g.float(
      `${prefix}.mlp.c_proj.weight`,
      [4 * dim, dim],
      slice(weights.fcProjWeight, i, 4 * dim * dim),
    );
    g.float(`${prefix}.mlp.c_proj.bias`, [dim], slice(weights.fcProjBias, i, dim));

    const normed = layerNorm(x, `${prefix}.ln_1.weight`, `${prefix}.ln_1.bias`);
    const qkv = g.op1('Add', [
      g.op1('MatMul', [normed, `${prefix}.attn.c_attn.weight`]),
      `${prefix}.attn.c_attn.bias`,
    ]);
    const heads = (value: string) =>
      g.op1('Transpose', [g.op1('Reshape', [value, headsShape])], { perm: [0, 2, 1, 3] });
    const [q, k, v] = g
      .op('Split', [qkv, g.int64([3], [dim, dim, dim])], { axis: -1 }, 3)
      .map(heads); // [1, H, n, D]
    const keys = g.op1('Concat', [`past_key_values.${i}.key`, k], { axis: 2 }, `present.${i}.key`);
    const values = g.op1(
      'Concat',
      [`past_key_values.${i}.value`, v],
      { axis: 2 },
      `present.${i}.value`,
    );
    const scores = g.op1('Div', [
      g.op1('MatMul', [q, g.op1('Transpose', [keys], { perm: [0, 1, 3, 2] })]),
      scoreScale,
    ]); // [1, H, n, T]
    // causal = bias[:, :, T - n : T, :T], T from the keys and n from the queries, as transformers slices it.
    const total = g.op1('Shape', [keys], { start: 2, end: 3 });
    const rows = g.op1('Shape', [q], { start: 2, end: 3 });
    const zero = g.int64([1], [0]);
    const causalRows = g.op1('Slice', [
      'attn.bias',
      g.op1('Sub', [total, rows]),
      total,
      g.int64([1], [2]),
    ]);
    const causal = g.op1('Slice', [causalRows, zero, total, g.int64([1], [3])]);
    const masked = g.op1('Where', [causal, scores, lowest]);
    const probs = g.op1('Softmax', [g.op1('Add', [masked, padding])], { axis: -1 });
    const attended = g.op1('Reshape', [
      g.op1('Transpose', [g.op1('MatMul', [probs, values])], { perm: [0, 2, 1, 3] }),
      g.int64([3], [0, 0, dim]),
    ]);
    const afterAttention = g.op1('Add', [
      x,
      g.op1('Add', [
        g.op1('MatMul', [attended, `${prefix}.attn.c_proj.weight`]),
        `${prefix}.attn.c_proj.bias`,
      ]),
    ]);
    const normed2 = layerNorm(afterAttention, `${prefix}.ln_2.weight`, `${prefix}.ln_2.bias`);
    const hidden = g.op1('Add', [
      g.op1('MatMul', [normed2, `${prefix}.mlp.c_fc.weight`]),
      `${prefix}.mlp.c_fc.bias`,
    ]);
    // gelu_new: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
    const inner = g.op1('Mul', [
      geluScale,
      g.op1('Add', [hidden, g.op1('Mul', [geluCoefficient, g.op1('Pow', [hidden, three])])]),
    ]);
    const activated = g.op1('Mul', [
      g.op1('Mul', [half, hidden]),
      g.op1('Add', [one, g.op1('Tanh', [inner])]),
    ]);
    x = g.op1('Add', [
      afterAttention,
      g.op1('Add', [
        g.op1('MatMul', [activated, `${prefix}.mlp.c_proj.weight`]),
        `${prefix}.mlp.c_proj.bias`,
      ]),
    ]);
  }
  g.float('transformer.ln_f.weight', [dim], weights.lnFinalWeight);
  g.float('transformer.ln_f.bias', [dim], weights.lnFinalBias);
  const final = layerNorm(x, 'transformer.ln_f.weight', 'transformer.ln_f.bias');
  // Tied lm_head; ONNX Runtime folds the Transpose at load.
  const classifier = g.op1('Transpose', ['transformer.wte.weight'], { perm: [1, 0] });
  g.op1('MatMul', [final, classifier], {}, 'logits');
  g.output('logits', ElemType.float, [1, 'sequence_length', vocabSize]);
  for (let i = 0; i < numLayers; i++)
    for (const kind of ['key', 'value'])
      g.output(`present.${i}.${kind}`, ElemType.float, [
        1,
        numHeads,
        'total_sequence_length',
        headDim,
      ]);
  const metadata: Record<string, string> = { 'decodekit.graph': 'plain' };
  if (name) metadata['decodekit.name'] = name;
  return encodeModel(g.toGraph('gpt2'), { metadata });
}

/** Options of {@link buildTinyGpt2}. */
export interface TinyGpt2Options {
  readonly seed: number;
  /** Default 64 (a character vocabulary). */
  readonly vocabSize?: number;
  /** `n_embd`, default 32. */
  readonly dim?: number;
  /** `n_layer`, default 2. */
  readonly numLayers?: number;
  /** `n_head`, default 2. */
  readonly numHeads?: number;
  /** `n_positions`, default 128. */
  readonly contextLength?: number;
}

/**
 * A tiny seeded GPT-2-layout model folder (config.json with GPT-2 names, generation_config.json, a character
 * tokenizer, `onnx/model.onnx` from {@link buildGpt2Graph}) for tests of learned-position models. Same seed,
 * same bytes; build it at test time. The tokenizer is not GPT-2's byte-level BPE: the folder tests the graph
 * layout, not text.
 */
export function buildTinyGpt2(options: TinyGpt2Options): ConvertedModel {
  const config: Gpt2Config = {
    vocabSize: options.vocabSize ?? 64,
    dim: options.dim ?? 32,
    numLayers: options.numLayers ?? 2,
    numHeads: options.numHeads ?? 2,
    contextLength: options.contextLength ?? 128,
    layerNormEps: 1e-5,
  };
  const random = seededRandom(options.seed);
  const weights: Record<string, Float32Array> = {};
  for (const [key, size] of gpt2WeightSizes(config)) {
    const array = new Float32Array(size);
    const isNorm = key.startsWith('ln') && key.endsWith('Weight');
    const isBias = key.endsWith('Bias');
    // GPT-2's initialisation: N(0, 0.02) for embeddings, larger here so the tiny model's logits are peaked.
    const std = isNorm ? 0.1 : isBias ? 0.02 : key.endsWith('Embedding') ? 0.5 : 0.3;
    for (let index = 0; index < size; index++)
      array[index] = (isNorm ? 1 : 0) + std * random.normal();
    weights[key] = array;
  }
  const name = `tiny-gpt2-${options.seed}`;
  const ids = { bos: 1, eos: 2 };
  return {
    files: {
      'config.json': jsonText({
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: config.vocabSize,
        n_embd: config.dim,
        n_layer: config.numLayers,
        n_head: config.numHeads,
        n_positions: config.contextLength,
        n_inner: null,
        activation_function: 'gelu_new',
        layer_norm_epsilon: config.layerNormEps,
        tie_word_embeddings: true,
        bos_token_id: ids.bos,
        eos_token_id: ids.eos,
        decodekit: { graph: 'plain', source: `seeded:${options.seed}`, name },
      }),
      'generation_config.json': jsonText({
        bos_token_id: ids.bos,
        eos_token_id: ids.eos,
        do_sample: false,
      }),
      'tokenizer.json': jsonText(llama2cTokenizerJson(charVocabulary(config.vocabSize))),
      'tokenizer_config.json': jsonText(llama2cTokenizerConfig(config.contextLength)),
      'onnx/model.onnx': buildGpt2Graph(config, weights as unknown as Gpt2Weights, { name }),
    },
  };
}
