import { InvalidArgumentError } from '@decodekit/core';
import { generationConfigJson, jsonText, type ModelFolderFiles } from './hf-config.js';
import { readLlama2cTokenizer } from './llama2c.js';
import { ElemType, type GraphWriter, createGraphWriter, encodeModel } from './onnx-writer.js';
import { seededRandom } from './seeded-random.js';
import { charVocabulary } from './tiny-model.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson } from './tokenizer-json.js';

/** Shape of a BART-like encoder-decoder (pre-LayerNorm, learned positions, GELU, its own classifier). */
export interface Seq2SeqConfig {
  readonly vocabSize: number;
  /** Width of the residual stream (`d_model`). */
  readonly dim: number;
  /** Attention heads of every encoder and decoder attention; `dim` must divide by it. */
  readonly heads: number;
  /** Width of the feed-forward blocks. */
  readonly ffnDim: number;
  readonly encoderLayers: number;
  readonly decoderLayers: number;
  /** Rows of each learned position table: the longest source and the longest decoder sequence. */
  readonly maxPositions: number;
  readonly layerNormEps: number;
}

/** A LayerNorm's scale and shift. [dim] each */
export interface LayerNormWeights {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
}

/** One attention's projections, each [dim, dim] stored `[in, out]` (y = x · W). */
export interface AttentionWeights {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly o: Float32Array;
}

/** A GELU feed-forward block: `w1` [dim, ffnDim], `b1` [ffnDim], `w2` [ffnDim, dim], `b2` [dim]. */
export interface FeedForwardWeights {
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

/** An encoder layer: self-attention and feed-forward, each after its own LayerNorm. */
export interface EncoderLayerWeights {
  readonly attentionNorm: LayerNormWeights;
  readonly attention: AttentionWeights;
  readonly ffnNorm: LayerNormWeights;
  readonly ffn: FeedForwardWeights;
}

/** A decoder layer: causal self-attention, cross-attention over the encoder output, feed-forward. */
export interface DecoderLayerWeights {
  readonly selfNorm: LayerNormWeights;
  readonly self: AttentionWeights;
  readonly crossNorm: LayerNormWeights;
  readonly cross: AttentionWeights;
  readonly ffnNorm: LayerNormWeights;
  readonly ffn: FeedForwardWeights;
}

/** Every weight of a {@link Seq2SeqConfig} model. */
export interface Seq2SeqWeights {
  /** Token embeddings shared by encoder and decoder. [vocab, dim] */
  readonly embed: Float32Array;
  /**
   * The classifier, `[dim, vocab]` (logits = LayerNorm(x) · lmHead). Untied: a random tied head mostly
   * predicts the input token again, which would make every fixture output the start token forever.
   */
  readonly lmHead: Float32Array;
  /** [maxPositions, dim] */
  readonly encoderPositions: Float32Array;
  /** [maxPositions, dim] */
  readonly decoderPositions: Float32Array;
  readonly encoder: readonly EncoderLayerWeights[];
  readonly encoderNorm: LayerNormWeights;
  readonly decoder: readonly DecoderLayerWeights[];
  readonly decoderNorm: LayerNormWeights;
}

/** Special ids of the built folders (the character vocabulary's `<unk>`, `<s>`, `</s>`). */
export const SEQ2SEQ_SPECIAL_IDS = { pad: 0, bos: 1, eos: 2, decoderStart: 2 } as const;

/** Options of {@link buildSeq2SeqModel}. */
export interface Seq2SeqModelOptions {
  readonly seed: number;
  /** Ignored when `tokenizer` is given (its size wins). Default 32. */
  readonly vocabSize?: number;
  /** Default 16. */
  readonly dim?: number;
  /** Default 2. */
  readonly heads?: number;
  /** Default 32. */
  readonly ffnDim?: number;
  /** Default 2. */
  readonly encoderLayers?: number;
  /** Default 2. */
  readonly decoderLayers?: number;
  /** Default 64. */
  readonly maxPositions?: number;
  /** A llama2.c tokenizer (`tok512.bin` bytes) instead of the generated character vocabulary. */
  readonly tokenizer?: Uint8Array;
  /**
   * The decoder files, as optimum and transformers.js lay them out: `merged` (default;
   * `onnx/decoder_model_merged.onnx` with `use_cache_branch`) or `split` (`onnx/decoder_model.onnx` +
   * `onnx/decoder_with_past_model.onnx`).
   */
  readonly layout?: 'merged' | 'split';
  /** Recorded in config.json. */
  readonly name?: string;
  /**
   * Weights to use instead of the seeded random ones (e.g. a target's, perturbed, as a draft model); their
   * sizes must match the options' shape.
   */
  readonly weights?: Seq2SeqWeights;
}

/** A built seq2seq fixture: its folder files, and its config and weights for the reference forward. */
export interface Seq2SeqModel {
  readonly files: ModelFolderFiles;
  readonly config: Seq2SeqConfig;
  readonly weights: Seq2SeqWeights;
}

function checkSize(argument: string, value: number, minimum = 1): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({
      argument,
      message: `must be an integer of at least ${minimum}, got ${value}.`,
    });
  }
}

/** Checks a config (sizes positive, heads divide dim). */
export function checkSeq2SeqConfig(config: Seq2SeqConfig): void {
  checkSize('vocabSize', config.vocabSize, 4);
  checkSize('dim', config.dim);
  checkSize('heads', config.heads);
  checkSize('ffnDim', config.ffnDim);
  checkSize('encoderLayers', config.encoderLayers);
  checkSize('decoderLayers', config.decoderLayers);
  checkSize('maxPositions', config.maxPositions, 2);
  if (config.dim % config.heads !== 0) {
    throw new InvalidArgumentError({
      argument: 'heads',
      message: `dim ${config.dim} must be a multiple of heads ${config.heads}.`,
    });
  }
}

/** Seeded random weights for `config` (normal, scaled by 1 / sqrt(fan-in); LayerNorms near identity). */
export function randomSeq2SeqWeights(config: Seq2SeqConfig, seed: number): Seq2SeqWeights {
  checkSeq2SeqConfig(config);
  const random = seededRandom(seed);
  const { vocabSize, dim, ffnDim, maxPositions } = config;
  const normal = (size: number, scale: number, offset = 0) => {
    const data = new Float32Array(size);
    for (let index = 0; index < size; index++) data[index] = offset + scale * random.normal();
    return data;
  };
  const norm = (): LayerNormWeights => ({ gamma: normal(dim, 0.1, 1), beta: normal(dim, 0.1) });
  const attention = (): AttentionWeights => ({
    q: normal(dim * dim, 2 / Math.sqrt(dim)),
    k: normal(dim * dim, 2 / Math.sqrt(dim)),
    v: normal(dim * dim, 1 / Math.sqrt(dim)),
    // Strong attention outputs keep the source and the history in play (weak ones make a Markov chain of
    // the last token, which random weights soon lock into a fixed point).
    o: normal(dim * dim, 2 / Math.sqrt(dim)),
  });
  const ffn = (): FeedForwardWeights => ({
    w1: normal(dim * ffnDim, 1 / Math.sqrt(dim)),
    b1: normal(ffnDim, 0.1),
    w2: normal(ffnDim * dim, 1.5 / Math.sqrt(ffnDim)),
    b2: normal(dim, 0.1),
  });
  return {
    embed: normal(vocabSize * dim, 0.5),
    // Logits are LayerNorm(x) · lmHead: this scale keeps them a few units wide, neither flat nor one-hot.
    lmHead: normal(dim * vocabSize, 2 / Math.sqrt(dim)),
    encoderPositions: normal(maxPositions * dim, 0.5),
    decoderPositions: normal(maxPositions * dim, 0.5),
    encoder: Array.from({ length: config.encoderLayers }, () => ({
      attentionNorm: norm(),
      attention: attention(),
      ffnNorm: norm(),
      ffn: ffn(),
    })),
    encoderNorm: norm(),
    decoder: Array.from({ length: config.decoderLayers }, () => ({
      selfNorm: norm(),
      self: attention(),
      crossNorm: norm(),
      cross: attention(),
      ffnNorm: norm(),
      ffn: ffn(),
    })),
    decoderNorm: norm(),
  };
}

/** Value of masked attention scores. */
const MASKED = -1e9;

/** Initializer names of one attention's projections. */
interface AttentionNames {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly o: string;
}

/** Writes the graph pieces shared by the encoder and the decoders (initializers live in the main graph). */
class Seq2SeqGraph {
  readonly headDim: number;
  private readonly added = new Set<string>();
  private scalars = 0;

  constructor(
    readonly g: GraphWriter,
    readonly config: Seq2SeqConfig,
  ) {
    this.headDim = config.dim / config.heads;
  }

  /** An initializer, added once. */
  param(name: string, dims: readonly number[], data: Float32Array): string {
    if (!this.added.has(name)) {
      this.g.float(name, dims, data);
      this.added.add(name);
    }
    return name;
  }

  scalar(value: number): string {
    const name = `scalar_${this.scalars++}`;
    this.g.float(name, [], Float32Array.of(value));
    return name;
  }

  norm(g: GraphWriter, x: string, prefix: string, weights: LayerNormWeights): string {
    const gamma = this.param(`${prefix}.weight`, [this.config.dim], weights.gamma);
    const beta = this.param(`${prefix}.bias`, [this.config.dim], weights.beta);
    return g.op1('LayerNormalization', [x, gamma, beta], {
      axis: -1,
      epsilon: { f: this.config.layerNormEps },
    });
  }

  attentionParams(prefix: string, weights: AttentionWeights): AttentionNames {
    const dims = [this.config.dim, this.config.dim];
    return {
      q: this.param(`${prefix}.q`, dims, weights.q),
      k: this.param(`${prefix}.k`, dims, weights.k),
      v: this.param(`${prefix}.v`, dims, weights.v),
      o: this.param(`${prefix}.o`, dims, weights.o),
    };
  }

  /** x [1, n, dim] · W → [1, heads, n, headDim]. */
  heads(g: GraphWriter, x: string, weight: string): string {
    const projected = g.op1('MatMul', [x, weight]);
    const split = g.op1('Reshape', [
      projected,
      g.int64([4], [0, 0, this.config.heads, this.headDim]),
    ]);
    return g.op1('Transpose', [split], { perm: [0, 2, 1, 3] });
  }

  /** Scaled dot-product attention of q over keys/values with an additive bias, back to [1, n, dim]. */
  attend(g: GraphWriter, q: string, keys: string, values: string, bias: string): string {
    const scores = g.op1('MatMul', [q, g.op1('Transpose', [keys], { perm: [0, 1, 3, 2] })]);
    const scaled = g.op1('Mul', [scores, this.scalar(1 / Math.sqrt(this.headDim))]);
    const probabilities = g.op1('Softmax', [g.op1('Add', [scaled, bias])], { axis: -1 });
    const context = g.op1('MatMul', [probabilities, values]); // [1, heads, n, headDim]
    return g.op1('Reshape', [
      g.op1('Transpose', [context], { perm: [0, 2, 1, 3] }),
      g.int64([3], [0, 0, this.config.dim]),
    ]);
  }

  /** GELU feed-forward (erf form). */
  feedForward(g: GraphWriter, x: string, prefix: string, weights: FeedForwardWeights): string {
    const { dim, ffnDim } = this.config;
    const w1 = this.param(`${prefix}.w1`, [dim, ffnDim], weights.w1);
    const b1 = this.param(`${prefix}.b1`, [ffnDim], weights.b1);
    const w2 = this.param(`${prefix}.w2`, [ffnDim, dim], weights.w2);
    const b2 = this.param(`${prefix}.b2`, [dim], weights.b2);
    const hidden = g.op1('Add', [g.op1('MatMul', [x, w1]), b1]);
    const erf = g.op1('Erf', [g.op1('Mul', [hidden, this.scalar(Math.SQRT1_2)])]);
    const gelu = g.op1('Mul', [
      g.op1('Mul', [hidden, this.scalar(0.5)]),
      g.op1('Add', [erf, this.scalar(1)]),
    ]);
    return g.op1('Add', [g.op1('MatMul', [gelu, w2]), b2]);
  }

  /** An additive [1, 1, 1, S] bias from an int64 padding mask [1, S]: 0 where 1, MASKED where 0. */
  paddingBias(g: GraphWriter, mask: string): string {
    const keep = g.op1('Cast', [mask], { to: ElemType.float });
    const bias = g.op1('Mul', [g.op1('Sub', [this.scalar(1), keep]), this.scalar(MASKED)]);
    return g.op1('Unsqueeze', [bias, g.int64([2], [1, 2])]);
  }

  /** Positions `start .. start + n - 1` [n], `start` an int64 [1], n the rows of `rowsOf` [1, n]. */
  positions(g: GraphWriter, start: string, rowsOf: string): string {
    const axes = g.int64([1], [0]);
    const first = g.op1('Squeeze', [start, axes]);
    const rows = g.op1('Squeeze', [g.op1('Shape', [rowsOf], { start: 1, end: 2 }), axes]);
    return g.op1('Range', [first, g.op1('Add', [first, rows]), g.int64([], [1])]);
  }

  /** Token embedding plus learned position `positions` [n] → [1, n, dim]. */
  embed(g: GraphWriter, table: string, positions: string): string {
    return g.op1('Add', [
      g.op1('Gather', ['embed_tokens', 'input_ids'], { axis: 0 }),
      g.op1('Gather', [table, positions], { axis: 0 }),
    ]);
  }
}

/**
 * The encoder graph (optimum's `encoder_model.onnx`): `input_ids` and `attention_mask` [batch, S] (int64) →
 * `last_hidden_state` [batch, S, dim].
 */
export function buildSeq2SeqEncoder(config: Seq2SeqConfig, weights: Seq2SeqWeights): Uint8Array {
  checkSeq2SeqConfig(config);
  const g = createGraphWriter();
  const graph = new Seq2SeqGraph(g, config);
  const { vocabSize, dim, maxPositions } = config;
  g.input('input_ids', ElemType.int64, ['batch_size', 'encoder_sequence_length']);
  g.input('attention_mask', ElemType.int64, ['batch_size', 'encoder_sequence_length']);
  g.float('embed_tokens', [vocabSize, dim], weights.embed);
  g.float('encoder.positions', [maxPositions, dim], weights.encoderPositions);
  let x = graph.embed(g, 'encoder.positions', graph.positions(g, g.int64([1], [0]), 'input_ids'));
  const bias = graph.paddingBias(g, 'attention_mask');
  weights.encoder.forEach((layer, index) => {
    const prefix = `encoder.layers.${index}`;
    const names = graph.attentionParams(`${prefix}.self_attn`, layer.attention);
    const normed = graph.norm(g, x, `${prefix}.self_attn_norm`, layer.attentionNorm);
    const attended = graph.attend(
      g,
      graph.heads(g, normed, names.q),
      graph.heads(g, normed, names.k),
      graph.heads(g, normed, names.v),
      bias,
    );
    x = g.op1('Add', [x, g.op1('MatMul', [attended, names.o])]);
    const ffnIn = graph.norm(g, x, `${prefix}.ffn_norm`, layer.ffnNorm);
    x = g.op1('Add', [x, graph.feedForward(g, ffnIn, `${prefix}.ffn`, layer.ffn)]);
  });
  const normed = graph.norm(g, x, 'encoder.norm', weights.encoderNorm);
  g.op1('Identity', [normed], {}, 'last_hidden_state');
  g.output('last_hidden_state', ElemType.float, ['batch_size', 'encoder_sequence_length', dim]);
  return encodeModel(g.toGraph('seq2seq_encoder'), {
    metadata: { 'decodekit.graph': 'seq2seq-encoder' },
  });
}

/**
 * Which decoder graph to build, as optimum names them: `merged` (`decoder_model_merged.onnx`: past inputs
 * and a `use_cache_branch` switch; without the cache branch it computes the cross-attention keys and values
 * from `encoder_hidden_states`, with it it reuses the past ones), `first` (`decoder_model.onnx`: no past
 * inputs) and `with-past` (`decoder_with_past_model.onnx`: past inputs, no `encoder_hidden_states`, only the
 * decoder's presents out).
 */
export type Seq2SeqDecoderKind = 'merged' | 'first' | 'with-past';

/**
 * A decoder graph in optimum's seq2seq I/O: inputs `encoder_attention_mask` [batch, S] (int64), `input_ids`
 * [batch, n], `encoder_hidden_states` [batch, S, dim], `past_key_values.{i}.decoder.key|value` [batch,
 * heads, past, headDim] and `past_key_values.{i}.encoder.key|value` [batch, heads, S, headDim],
 * `use_cache_branch` (bool [1]); outputs `logits` [batch, n, vocab], `present.{i}.decoder.key|value` and
 * `present.{i}.encoder.key|value` (which inputs and outputs depend on `kind`). Positions continue from the
 * past length; rows attend causally.
 */
export function buildSeq2SeqDecoder(
  config: Seq2SeqConfig,
  weights: Seq2SeqWeights,
  kind: Seq2SeqDecoderKind,
): Uint8Array {
  checkSeq2SeqConfig(config);
  const g = createGraphWriter();
  const graph = new Seq2SeqGraph(g, config);
  const { vocabSize, dim, heads, maxPositions, decoderLayers } = config;
  const headDim = graph.headDim;
  const kvDims = (length: string) => ['batch_size', heads, length, headDim];
  g.input('encoder_attention_mask', ElemType.int64, ['batch_size', 'encoder_sequence_length']);
  g.input('input_ids', ElemType.int64, ['batch_size', 'decoder_sequence_length']);
  if (kind !== 'with-past') {
    g.input('encoder_hidden_states', ElemType.float, [
      'batch_size',
      'encoder_sequence_length',
      dim,
    ]);
  }
  const pastName = (layer: number, side: string, part: string) =>
    `past_key_values.${layer}.${side}.${part}`;
  if (kind !== 'first') {
    for (let layer = 0; layer < decoderLayers; layer++) {
      for (const part of ['key', 'value'])
        g.input(
          pastName(layer, 'decoder', part),
          ElemType.float,
          kvDims('past_decoder_sequence_length'),
        );
      for (const part of ['key', 'value'])
        g.input(
          pastName(layer, 'encoder', part),
          ElemType.float,
          kvDims('encoder_sequence_length_out'),
        );
    }
  }
  if (kind === 'merged') g.input('use_cache_branch', ElemType.bool, [1]);
  g.float('embed_tokens', [vocabSize, dim], weights.embed);
  g.float('decoder.positions', [maxPositions, dim], weights.decoderPositions);
  // Cross-attention projections; k and v are added only where a graph computes them from the encoder output
  // (the with-past graph reads them from its past inputs).
  const crossParam = (layer: number, part: 'q' | 'k' | 'v' | 'o') =>
    graph.param(
      `decoder.layers.${layer}.cross_attn.${part}`,
      [dim, dim],
      weights.decoder[layer].cross[part],
    );
  // The cross-attention keys and values from the encoder output, in `writer` (a branch or the main graph).
  const crossFrom = (writer: GraphWriter, layer: number, part: 'k' | 'v') =>
    graph.heads(writer, 'encoder_hidden_states', crossParam(layer, part));
  // Past decoder and encoder caches the layers read, per layer: [decoderKey, decoderValue, encoderKey, encoderValue].
  let caches: string[][];
  if (kind === 'first') {
    const empty = new Uint8Array(0);
    caches = weights.decoder.map((_, layer) => [
      g.tensor(`empty.${layer}.key`, [1, heads, 0, headDim], ElemType.float, empty),
      g.tensor(`empty.${layer}.value`, [1, heads, 0, headDim], ElemType.float, empty),
      crossFrom(g, layer, 'k'),
      crossFrom(g, layer, 'v'),
    ]);
  } else if (kind === 'with-past') {
    caches = weights.decoder.map((_, layer) => [
      pastName(layer, 'decoder', 'key'),
      pastName(layer, 'decoder', 'value'),
      pastName(layer, 'encoder', 'key'),
      pastName(layer, 'encoder', 'value'),
    ]);
  } else {
    // optimum's merged decoder: the cache branch passes the pasts through; the other one starts an empty
    // self-attention cache and computes the cross-attention cache from the encoder output.
    const withCache = g.subgraph();
    const noCache = g.subgraph();
    const zero = g.int64([1], [0]);
    const axis = g.int64([1], [2]);
    for (let layer = 0; layer < decoderLayers; layer++) {
      for (const part of ['key', 'value']) {
        const name = pastName(layer, 'decoder', part);
        withCache.output(withCache.op1('Identity', [name]), ElemType.float);
        noCache.output(noCache.op1('Slice', [name, zero, zero, axis]), ElemType.float);
      }
      for (const part of ['key', 'value'] as const) {
        withCache.output(
          withCache.op1('Identity', [pastName(layer, 'encoder', part)]),
          ElemType.float,
        );
        noCache.output(crossFrom(noCache, layer, part === 'key' ? 'k' : 'v'), ElemType.float);
      }
    }
    const selected = g.op(
      'If',
      ['use_cache_branch'],
      {
        then_branch: withCache.toGraph('with_cache'),
        else_branch: noCache.toGraph('without_cache'),
      },
      4 * decoderLayers,
    );
    caches = weights.decoder.map((_, layer) => selected.slice(4 * layer, 4 * layer + 4));
  }

  const pastLength = g.op1('Shape', [caches[0][0]], { start: 2, end: 3 }); // [1]
  const positions = graph.positions(g, pastLength, 'input_ids');
  let x = graph.embed(g, 'decoder.positions', positions);
  // Causal bias [n, past + n]: row r (position past + r) sees columns 0 .. past + r.
  const axes = g.int64([1], [0]);
  const total = g.op1('Squeeze', [
    g.op1('Add', [pastLength, g.op1('Shape', ['input_ids'], { start: 1, end: 2 })]),
    axes,
  ]);
  const columns = g.op1('Unsqueeze', [
    g.op1('Range', [g.int64([], [0]), total, g.int64([], [1])]),
    axes,
  ]);
  const rows = g.op1('Unsqueeze', [positions, g.int64([1], [1])]);
  const causal = g.op1('Where', [
    g.op1('LessOrEqual', [columns, rows]),
    graph.scalar(0),
    graph.scalar(MASKED),
  ]);
  const crossBias = graph.paddingBias(g, 'encoder_attention_mask');
  weights.decoder.forEach((layer, index) => {
    const prefix = `decoder.layers.${index}`;
    const [pastKey, pastValue, crossKey, crossValue] = caches[index];
    const self = graph.attentionParams(`${prefix}.self_attn`, layer.self);
    const normed = graph.norm(g, x, `${prefix}.self_attn_norm`, layer.selfNorm);
    const keys = g.op1(
      'Concat',
      [pastKey, graph.heads(g, normed, self.k)],
      { axis: 2 },
      `present.${index}.decoder.key`,
    );
    const values = g.op1(
      'Concat',
      [pastValue, graph.heads(g, normed, self.v)],
      { axis: 2 },
      `present.${index}.decoder.value`,
    );
    const attended = graph.attend(g, graph.heads(g, normed, self.q), keys, values, causal);
    x = g.op1('Add', [x, g.op1('MatMul', [attended, self.o])]);
    const crossIn = graph.norm(g, x, `${prefix}.cross_attn_norm`, layer.crossNorm);
    const read = graph.attend(
      g,
      graph.heads(g, crossIn, crossParam(index, 'q')),
      crossKey,
      crossValue,
      crossBias,
    );
    x = g.op1('Add', [x, g.op1('MatMul', [read, crossParam(index, 'o')])]);
    const ffnIn = graph.norm(g, x, `${prefix}.ffn_norm`, layer.ffnNorm);
    x = g.op1('Add', [x, graph.feedForward(g, ffnIn, `${prefix}.ffn`, layer.ffn)]);
    if (kind !== 'with-past') {
      g.op1('Identity', [crossKey], {}, `present.${index}.encoder.key`);
      g.op1('Identity', [crossValue], {}, `present.${index}.encoder.value`);
    }
  });
  const normed = graph.norm(g, x, 'decoder.norm', weights.decoderNorm);
  g.float('lm_head', [dim, vocabSize], weights.lmHead);
  g.op1('MatMul', [normed, 'lm_head'], {}, 'logits');
  g.output('logits', ElemType.float, ['batch_size', 'decoder_sequence_length', vocabSize]);
  for (let layer = 0; layer < decoderLayers; layer++) {
    for (const part of ['key', 'value'])
      g.output(
        `present.${layer}.decoder.${part}`,
        ElemType.float,
        kvDims('present_decoder_sequence_length'),
      );
    if (kind !== 'with-past') {
      for (const part of ['key', 'value'])
        g.output(
          `present.${layer}.encoder.${part}`,
          ElemType.float,
          kvDims('encoder_sequence_length_out'),
        );
    }
  }
  return encodeModel(g.toGraph(`seq2seq_decoder_${kind.replace('-', '_')}`), {
    metadata: { 'decodekit.graph': `seq2seq-decoder-${kind}` },
  });
}

/**
 * config.json of a built seq2seq folder, in BART's field names (what optimum and transformers.js read):
 * `is_encoder_decoder`, `d_model`, `encoder_layers`, `decoder_layers`, `*_attention_heads`, `*_ffn_dim`,
 * `max_position_embeddings`, `decoder_start_token_id`. The architecture is BART-like, not BART: LayerNorm
 * before each block (mBART's order), no embedding LayerNorm, positions not offset by 2.
 */
export function seq2seqConfigJson(config: Seq2SeqConfig, name?: string): Record<string, unknown> {
  return {
    ...(name === undefined ? {} : { _name_or_path: name }),
    model_type: 'bart',
    architectures: ['BartForConditionalGeneration'],
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    d_model: config.dim,
    encoder_layers: config.encoderLayers,
    decoder_layers: config.decoderLayers,
    encoder_attention_heads: config.heads,
    decoder_attention_heads: config.heads,
    encoder_ffn_dim: config.ffnDim,
    decoder_ffn_dim: config.ffnDim,
    max_position_embeddings: config.maxPositions,
    activation_function: 'gelu',
    normalize_before: true,
    layer_norm_eps: config.layerNormEps,
    tie_word_embeddings: false,
    pad_token_id: SEQ2SEQ_SPECIAL_IDS.pad,
    bos_token_id: SEQ2SEQ_SPECIAL_IDS.bos,
    eos_token_id: SEQ2SEQ_SPECIAL_IDS.eos,
    decoder_start_token_id: SEQ2SEQ_SPECIAL_IDS.decoderStart,
    decodekit: { graph: 'seq2seq', source: 'seeded' },
  };
}

/**
 * A tiny seeded encoder-decoder model folder in the optimum / transformers.js seq2seq layout (config.json,
 * generation_config.json, tokenizer files, `onnx/encoder_model.onnx` and the decoder files of `layout`),
 * with its config and weights for `seq2seqReference`. Same seed, same bytes. Generate it at test time; never
 * commit it.
 */
export function buildSeq2SeqModel(options: Seq2SeqModelOptions): Seq2SeqModel {
  const tokenizer = options.tokenizer
    ? readLlama2cTokenizer(options.tokenizer, 'tokenizer')
    : undefined;
  const config: Seq2SeqConfig = {
    vocabSize: tokenizer?.tokens.length ?? options.vocabSize ?? 32,
    dim: options.dim ?? 16,
    heads: options.heads ?? 2,
    ffnDim: options.ffnDim ?? 32,
    encoderLayers: options.encoderLayers ?? 2,
    decoderLayers: options.decoderLayers ?? 2,
    maxPositions: options.maxPositions ?? 64,
    layerNormEps: 1e-5,
  };
  const layout = options.layout ?? 'merged';
  if (layout !== 'merged' && layout !== 'split') {
    throw new InvalidArgumentError({
      argument: 'layout',
      message: `must be 'merged' or 'split', got ${String(layout)}.`,
    });
  }
  const weights = options.weights ?? randomSeq2SeqWeights(config, options.seed);
  if (
    weights.embed.length !== config.vocabSize * config.dim ||
    weights.lmHead.length !== config.dim * config.vocabSize ||
    weights.encoder.length !== config.encoderLayers ||
    weights.decoder.length !== config.decoderLayers ||
    weights.decoder[0].ffn.w1.length !== config.dim * config.ffnDim
  ) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `do not fit the shape ${JSON.stringify(config)}; give the options the weights were made for.`,
    });
  }
  const decoderFiles: ModelFolderFiles =
    layout === 'merged'
      ? { 'onnx/decoder_model_merged.onnx': buildSeq2SeqDecoder(config, weights, 'merged') }
      : {
          'onnx/decoder_model.onnx': buildSeq2SeqDecoder(config, weights, 'first'),
          'onnx/decoder_with_past_model.onnx': buildSeq2SeqDecoder(config, weights, 'with-past'),
        };
  const ids = SEQ2SEQ_SPECIAL_IDS;
  return {
    config,
    weights,
    files: {
      'config.json': jsonText(
        seq2seqConfigJson(config, options.name ?? `tiny-seq2seq-${options.seed}`),
      ),
      'generation_config.json': jsonText({
        ...generationConfigJson({ bos: ids.bos, eos: [ids.eos] }),
        decoder_start_token_id: ids.decoderStart,
        pad_token_id: ids.pad,
      }),
      'tokenizer.json': jsonText(
        llama2cTokenizerJson(tokenizer ?? charVocabulary(config.vocabSize)),
      ),
      'tokenizer_config.json': jsonText(llama2cTokenizerConfig(config.maxPositions)),
      'onnx/encoder_model.onnx': buildSeq2SeqEncoder(config, weights),
      ...decoderFiles,
    },
  };
}
