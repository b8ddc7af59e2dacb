import { InvalidArgumentError } from '@decodekit/core';
import { ElemType, type GraphWriter, createGraphWriter, encodeModel } from './onnx-writer.js';

/**
 * The architecture of an eTok-style word-pooled model (the `EtokConfig` of
 * `@decodekit/strategy-learn-your-tokens`, repeated here structurally: this package depends on no strategy).
 */
export interface EtokGraphConfig {
  readonly dim: number;
  readonly heads: number;
  readonly ffn: number;
  readonly encoderLayers: number;
  readonly wordLayers: number;
  readonly decoderLayers: number;
  readonly numPrefix: number;
  readonly maxChars: number;
  readonly maxWords: number;
  /** The characters; the character vocabulary is 3 special ids (pad, end-of-word, unknown) plus these. */
  readonly chars: string;
}

/** The three ONNX graphs of an eTok model. */
export interface EtokGraphFiles {
  /** `char_ids` int64 [words, maxChars] → `word_vectors` float32 [words, dim]. */
  readonly charEncoder: Uint8Array;
  /** `word_vectors` [words, dim] → `prefixes` [words, numPrefix, dim] (causal over the words). */
  readonly wordTransformer: Uint8Array;
  /** `prefixes` [rows, numPrefix, dim] + `char_ids` int64 [rows, maxChars] → `logits` [rows, maxChars + 1, vocab]. */
  readonly charDecoder: Uint8Array;
}

/** Additive attention bias of masked positions (the TensorFlow.js model uses the same value). */
const MASKED = -1e9;
const LAYER_NORM_EPS = 1e-5;

interface Scalars {
  readonly eps: string;
  readonly scale: string;
}

function layerNorm(g: GraphWriter, s: Scalars, x: string, prefix: string): string {
  const mean = g.op1('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const centered = g.op1('Sub', [x, mean]);
  const variance = g.op1('ReduceMean', [g.op1('Mul', [centered, centered])], {
    axes: [-1],
    keepdims: 1,
  });
  const normed = g.op1('Div', [centered, g.op1('Sqrt', [g.op1('Add', [variance, s.eps])])]);
  return g.op1('Add', [g.op1('Mul', [normed, `${prefix}.gain`]), `${prefix}.bias`]);
}

/** Pre-LayerNorm block on x [batch, time, dim] with an additive attention bias broadcast to [batch, heads, time, time]. */
function block(
  g: GraphWriter,
  s: Scalars,
  config: EtokGraphConfig,
  x: string,
  bias: string,
  prefix: string,
): string {
  const { dim, heads } = config;
  const headDim = dim / heads;
  const split = g.int64([4], [0, 0, heads, headDim]);
  const h = layerNorm(g, s, x, `${prefix}.ln1`);
  const project = (weight: string, perm: number[]) =>
    g.op1('Transpose', [g.op1('Reshape', [g.op1('MatMul', [h, `${prefix}.${weight}`]), split])], {
      perm,
    });
  const q = project('wq', [0, 2, 1, 3]); // [batch, heads, time, headDim]
  const kT = project('wk', [0, 2, 3, 1]); // [batch, heads, headDim, time]
  const v = project('wv', [0, 2, 1, 3]);
  const scores = g.op1('Add', [g.op1('Div', [g.op1('MatMul', [q, kT]), s.scale]), bias]);
  const attended = g.op1(
    'Transpose',
    [g.op1('MatMul', [g.op1('Softmax', [scores], { axis: -1 }), v])],
    {
      perm: [0, 2, 1, 3],
    },
  );
  const merged = g.op1('Reshape', [attended, g.int64([3], [0, 0, dim])]);
  const afterAttention = g.op1('Add', [x, g.op1('MatMul', [merged, `${prefix}.wo`])]);
  const f = layerNorm(g, s, afterAttention, `${prefix}.ln2`);
  const hidden = g.op1('Relu', [
    g.op1('Add', [g.op1('MatMul', [f, `${prefix}.w1`]), `${prefix}.b1`]),
  ]);
  return g.op1('Add', [
    afterAttention,
    g.op1('Add', [g.op1('MatMul', [hidden, `${prefix}.w2`]), `${prefix}.b2`]),
  ]);
}

function blockTensorShapes(config: EtokGraphConfig): [string, number[]][] {
  const { dim, ffn } = config;
  return [
    ['ln1.gain', [dim]],
    ['ln1.bias', [dim]],
    ['wq', [dim, dim]],
    ['wk', [dim, dim]],
    ['wv', [dim, dim]],
    ['wo', [dim, dim]],
    ['ln2.gain', [dim]],
    ['ln2.bias', [dim]],
    ['w1', [dim, ffn]],
    ['b1', [ffn]],
    ['w2', [ffn, dim]],
    ['b2', [dim]],
  ];
}

/** Adds the named weights as float initializers, checking each size. */
function addWeights(
  g: GraphWriter,
  weights: Readonly<Record<string, Float32Array>>,
  shapes: readonly [string, number[]][],
): void {
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = weights[name];
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must hold ${size} float32 values [${shape.join(', ')}]; train and export with the same config.`,
      });
    }
    g.float(name, shape, data);
  }
}

function scalars(g: GraphWriter, config: EtokGraphConfig): Scalars {
  return {
    eps: g.float('eps', [], Float32Array.of(LAYER_NORM_EPS)),
    scale: g.float('attention_scale', [], Float32Array.of(Math.sqrt(config.dim / config.heads))),
  };
}

function partWeights(
  config: EtokGraphConfig,
  part: 'encoder' | 'word' | 'decoder',
  layers: number,
): [string, number[]][] {
  return [
    ...Array.from({ length: layers }, (_, l) =>
      blockTensorShapes(config).map(
        ([name, shape]) => [`${part}.${l}.${name}`, shape] as [string, number[]],
      ),
    ).flat(),
    [`${part}.lnFinal.gain`, [config.dim]],
    [`${part}.lnFinal.bias`, [config.dim]],
  ];
}

function checkConfig(config: EtokGraphConfig): number {
  const fields = [
    'dim',
    'heads',
    'ffn',
    'encoderLayers',
    'wordLayers',
    'decoderLayers',
    'numPrefix',
    'maxChars',
    'maxWords',
  ] as const;
  for (const field of fields) {
    if (!Number.isInteger(config[field]) || config[field] < 1) {
      throw new InvalidArgumentError({
        argument: `config.${field}`,
        message: `must be a positive integer, got ${String(config[field])}.`,
      });
    }
  }
  if (config.dim % config.heads !== 0) {
    throw new InvalidArgumentError({
      argument: 'config.heads',
      message: `dim ${config.dim} must split into ${config.heads} equal heads.`,
    });
  }
  return 3 + Array.from(config.chars).length;
}

/**
 * Writes an eTok model's three parts as ONNX graphs (opset 17, float32), operator for operator what the
 * TensorFlow.js model of `@decodekit/train` computes (Learn Your Tokens, Thawani et al., 2023):
 * - `charEncoder`: prefix-slot ids then characters → shared embedding + positions → `encoderLayers`
 *   bidirectional blocks (padding keys masked) → final LayerNorm → the prefix slots' outputs, concatenated,
 *   times `pool` → one vector per word;
 * - `wordTransformer`: word vectors + word positions → `wordLayers` causal blocks → final LayerNorm → times
 *   `unpool` → `numPrefix` vectors per word, the prefix of the next word's canvas;
 * - `charDecoder`: [prefix vectors, embedded characters] + positions → `decoderLayers` causal blocks → final
 *   LayerNorm → `head` at positions numPrefix − 1 … numPrefix + maxChars − 1 (slot j predicts character j,
 *   or end-of-word).
 * @param config the architecture
 * @param weights tensors by name (`etokWeightShapes` of `@decodekit/strategy-learn-your-tokens`)
 * @throws InvalidArgumentError when the config is invalid or a tensor is missing or mis-sized
 */
export function buildEtokGraphs(
  config: EtokGraphConfig,
  weights: Readonly<Record<string, Float32Array>>,
): EtokGraphFiles {
  const vocab = checkConfig(config);
  const { dim, numPrefix, maxChars, maxWords } = config;
  const canvas = numPrefix + maxChars;
  const metadata = { architecture: 'etok', config: JSON.stringify(config) };

  // Character encoder.
  const encoder = (() => {
    const g = createGraphWriter();
    const s = scalars(g, config);
    addWeights(g, weights, [
      ['charEmbedding', [vocab + numPrefix, dim]],
      ['encoderPosition', [canvas, dim]],
      ...partWeights(config, 'encoder', config.encoderLayers),
      ['pool', [numPrefix * dim, dim]],
    ]);
    const chars = g.input('char_ids', ElemType.int64, ['words', maxChars]);
    const words = g.op1('Slice', [g.op1('Shape', [chars]), g.int64([1], [0]), g.int64([1], [1])]);
    const prefixIds = g.op1('Expand', [
      g.int64(
        [1, numPrefix],
        Array.from({ length: numPrefix }, (_, j) => vocab + j),
      ),
      g.op1('Concat', [words, g.int64([1], [numPrefix])], { axis: 0 }),
    ]);
    const ids = g.op1('Concat', [prefixIds, chars], { axis: 1 }); // [words, canvas]
    const embedded = g.op1('Add', [g.op1('Gather', ['charEmbedding', ids]), 'encoderPosition']);
    const padding = g.op1('Cast', [g.op1('Equal', [ids, g.int64([], [0])])], {
      to: ElemType.float,
    });
    const bias = g.op1('Reshape', [
      g.op1('Mul', [padding, g.float('masked', [], Float32Array.of(MASKED))]),
      g.int64([4], [-1, 1, 1, canvas]),
    ]);
    let x = embedded;
    for (let l = 0; l < config.encoderLayers; l++) x = block(g, s, config, x, bias, `encoder.${l}`);
    const normed = layerNorm(g, s, x, 'encoder.lnFinal');
    const slots = g.op1('Slice', [
      normed,
      g.int64([1], [0]),
      g.int64([1], [numPrefix]),
      g.int64([1], [1]),
    ]);
    const flat = g.op1('Reshape', [slots, g.int64([2], [-1, numPrefix * dim])]);
    g.op1('MatMul', [flat, 'pool'], {}, 'word_vectors');
    g.output('word_vectors', ElemType.float, ['words', dim]);
    return encodeModel(g.toGraph('etok_char_encoder'), { metadata });
  })();

  // Word transformer.
  const word = (() => {
    const g = createGraphWriter();
    const s = scalars(g, config);
    addWeights(g, weights, [
      ['wordPosition', [maxWords, dim]],
      ...partWeights(config, 'word', config.wordLayers),
      ['unpool', [dim, numPrefix * dim]],
    ]);
    const causal = new Float32Array(maxWords * maxWords);
    for (let i = 0; i < maxWords; i++)
      for (let j = i + 1; j < maxWords; j++) causal[i * maxWords + j] = MASKED;
    g.float('word_causal', [maxWords, maxWords], causal);
    const vectors = g.input('word_vectors', ElemType.float, ['words', dim]);
    const time = g.op1('Slice', [g.op1('Shape', [vectors]), g.int64([1], [0]), g.int64([1], [1])]);
    const zero = g.int64([1], [0]);
    const positions = g.op1('Slice', ['wordPosition', zero, time, zero]);
    const x0 = g.op1('Reshape', [g.op1('Add', [vectors, positions]), g.int64([3], [1, -1, dim])]);
    const bias = g.op1('Unsqueeze', [
      g.op1('Slice', [
        'word_causal',
        g.int64([2], [0, 0]),
        g.op1('Concat', [time, time], { axis: 0 }),
        g.int64([2], [0, 1]),
      ]),
      g.int64([2], [0, 1]),
    ]);
    let x = x0;
    for (let l = 0; l < config.wordLayers; l++) x = block(g, s, config, x, bias, `word.${l}`);
    const normed = layerNorm(g, s, x, 'word.lnFinal');
    g.op1(
      'Reshape',
      [g.op1('MatMul', [normed, 'unpool']), g.int64([3], [-1, numPrefix, dim])],
      {},
      'prefixes',
    );
    g.output('prefixes', ElemType.float, ['words', numPrefix, dim]);
    return encodeModel(g.toGraph('etok_word_transformer'), { metadata });
  })();

  // Character decoder.
  const decoder = (() => {
    const g = createGraphWriter();
    const s = scalars(g, config);
    addWeights(g, weights, [
      ['charEmbedding', [vocab + numPrefix, dim]],
      ['decoderPosition', [canvas, dim]],
      ...partWeights(config, 'decoder', config.decoderLayers),
      ['head', [dim, vocab]],
    ]);
    const causal = new Float32Array(canvas * canvas);
    for (let i = 0; i < canvas; i++)
      for (let j = i + 1; j < canvas; j++) causal[i * canvas + j] = MASKED;
    g.float('canvas_causal', [1, 1, canvas, canvas], causal);
    const prefixes = g.input('prefixes', ElemType.float, ['rows', numPrefix, dim]);
    const chars = g.input('char_ids', ElemType.int64, ['rows', maxChars]);
    const canvasInput = g.op1('Concat', [prefixes, g.op1('Gather', ['charEmbedding', chars])], {
      axis: 1,
    });
    let x = g.op1('Add', [canvasInput, 'decoderPosition']);
    for (let l = 0; l < config.decoderLayers; l++)
      x = block(g, s, config, x, 'canvas_causal', `decoder.${l}`);
    const normed = layerNorm(g, s, x, 'decoder.lnFinal');
    const slots = g.op1('Slice', [
      normed,
      g.int64([1], [numPrefix - 1]),
      g.int64([1], [canvas]),
      g.int64([1], [1]),
    ]);
    g.op1('MatMul', [slots, 'head'], {}, 'logits');
    g.output('logits', ElemType.float, ['rows', maxChars + 1, vocab]);
    return encodeModel(g.toGraph('etok_char_decoder'), { metadata });
  })();

  return { charEncoder: encoder, wordTransformer: word, charDecoder: decoder };
}
