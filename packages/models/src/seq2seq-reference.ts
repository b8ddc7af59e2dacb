import {
  DisposedError,
  InvalidArgumentError,
  type CausalLM,
  type Encoding,
  type ForwardInput,
  type ForwardOutput,
  type Sequence,
} from '@decodekit/core';
import {
  SEQ2SEQ_SPECIAL_IDS,
  checkSeq2SeqConfig,
  type AttentionWeights,
  type FeedForwardWeights,
  type LayerNormWeights,
  type Seq2SeqConfig,
  type Seq2SeqWeights,
} from './seq2seq-model.js';

/**
 * The pure-JS forward of a {@link buildSeq2SeqModel} model, written from the math (no cache, float64
 * accumulation): the oracle the ONNX graphs and the backend are tested against.
 */
export interface Seq2SeqReference {
  readonly config: Seq2SeqConfig;
  /** The encoder output of `source`. [sourceLength, dim] */
  encode(source: readonly number[]): Float32Array;
  /** Logits of every decoder row for `decoderTokens` over `encoded` (recomputed from scratch). [rows, vocab] */
  decode(encoded: Float32Array, decoderTokens: readonly number[]): Float32Array;
  /** Greedy decoding of `source`: decoder tokens after the start token, up to EOS (kept) or `maxTokens`. */
  greedy(source: readonly number[], maxTokens: number): number[];
}

/** x [rows, in] · W [in, out] → [rows, out]. */
function matmul(x: Float32Array, rows: number, weight: Float32Array, inner: number): Float32Array {
  const out = weight.length / inner;
  const result = new Float32Array(rows * out);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < out; column++) {
      let sum = 0;
      for (let k = 0; k < inner; k++) sum += x[row * inner + k] * weight[k * out + column];
      result[row * out + column] = sum;
    }
  }
  return result;
}

function layerNorm(
  x: Float32Array,
  rows: number,
  dim: number,
  weights: LayerNormWeights,
  eps: number,
): Float32Array {
  const result = new Float32Array(x.length);
  for (let row = 0; row < rows; row++) {
    let mean = 0;
    for (let k = 0; k < dim; k++) mean += x[row * dim + k];
    mean /= dim;
    let variance = 0;
    for (let k = 0; k < dim; k++) variance += (x[row * dim + k] - mean) ** 2;
    const scale = 1 / Math.sqrt(variance / dim + eps);
    for (let k = 0; k < dim; k++)
      result[row * dim + k] =
        (x[row * dim + k] - mean) * scale * weights.gamma[k] + weights.beta[k];
  }
  return result;
}

/**
 * erf: its Maclaurin series below 3 (float64, error < 1e-12), Abramowitz–Stegun 7.1.26 above (erfc(3) is
 * 2e-5, so its 1.5e-7 absolute error stays below float32 resolution there).
 */
function erf(value: number): number {
  const sign = value < 0 ? -1 : 1;
  const x = Math.abs(value);
  if (x < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (sign * 2 * sum) / Math.sqrt(Math.PI);
  }
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-x * x));
}

function addInPlace(target: Float32Array, value: Float32Array): void {
  for (let index = 0; index < target.length; index++) target[index] += value[index];
}

function feedForward(
  x: Float32Array,
  rows: number,
  config: Seq2SeqConfig,
  weights: FeedForwardWeights,
): Float32Array {
  const hidden = matmul(x, rows, weights.w1, config.dim);
  for (let row = 0; row < rows; row++) {
    for (let k = 0; k < config.ffnDim; k++) {
      const value = hidden[row * config.ffnDim + k] + weights.b1[k];
      hidden[row * config.ffnDim + k] = 0.5 * value * (1 + erf(value * Math.SQRT1_2));
    }
  }
  const out = matmul(hidden, rows, weights.w2, config.ffnDim);
  for (let row = 0; row < rows; row++)
    for (let k = 0; k < config.dim; k++) out[row * config.dim + k] += weights.b2[k];
  return out;
}

/**
 * Multi-head attention of `queryInput` rows over `keyInput` rows (`causal`: query row r sees key rows
 * 0..r), projected by `weights`, output projection included. [queryRows, dim]
 */
function attention(
  queryInput: Float32Array,
  queryRows: number,
  keyInput: Float32Array,
  keyRows: number,
  config: Seq2SeqConfig,
  weights: AttentionWeights,
  causal: boolean,
): Float32Array {
  const { dim, heads } = config;
  const headDim = dim / heads;
  const q = matmul(queryInput, queryRows, weights.q, dim);
  const k = matmul(keyInput, keyRows, weights.k, dim);
  const v = matmul(keyInput, keyRows, weights.v, dim);
  const merged = new Float32Array(queryRows * dim);
  const scores = new Float64Array(keyRows);
  for (let head = 0; head < heads; head++) {
    for (let row = 0; row < queryRows; row++) {
      const visible = causal ? row + 1 : keyRows;
      let largest = -Infinity;
      for (let column = 0; column < visible; column++) {
        let dot = 0;
        for (let d = 0; d < headDim; d++)
          dot += q[row * dim + head * headDim + d] * k[column * dim + head * headDim + d];
        scores[column] = dot / Math.sqrt(headDim);
        largest = Math.max(largest, scores[column]);
      }
      let total = 0;
      for (let column = 0; column < visible; column++) {
        scores[column] = Math.exp(scores[column] - largest);
        total += scores[column];
      }
      for (let d = 0; d < headDim; d++) {
        let sum = 0;
        for (let column = 0; column < visible; column++)
          sum += scores[column] * v[column * dim + head * headDim + d];
        merged[row * dim + head * headDim + d] = sum / total;
      }
    }
  }
  return matmul(merged, queryRows, weights.o, dim);
}

function embed(
  tokens: readonly number[],
  table: Float32Array,
  positions: Float32Array,
  dim: number,
): Float32Array {
  const x = new Float32Array(tokens.length * dim);
  tokens.forEach((token, row) => {
    for (let k = 0; k < dim; k++)
      x[row * dim + k] = table[token * dim + k] + positions[row * dim + k];
  });
  return x;
}

/** The reference forward of a seq2seq fixture model (see {@link Seq2SeqReference}). */
export function seq2seqReference(config: Seq2SeqConfig, weights: Seq2SeqWeights): Seq2SeqReference {
  checkSeq2SeqConfig(config);
  const { dim, vocabSize, layerNormEps: eps } = config;
  const checkTokens = (tokens: readonly number[], what: string) => {
    if (tokens.length === 0 || tokens.length > config.maxPositions) {
      throw new InvalidArgumentError({
        argument: what,
        message: `must hold 1..${config.maxPositions} tokens, got ${tokens.length}.`,
      });
    }
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new InvalidArgumentError({
          argument: what,
          message: `token ${token} is outside the vocabulary [0, ${vocabSize}).`,
        });
      }
    }
  };
  const reference: Seq2SeqReference = {
    config,
    encode(source) {
      checkTokens(source, 'source');
      const rows = source.length;
      const x = embed(source, weights.embed, weights.encoderPositions, dim);
      for (const layer of weights.encoder) {
        const normed = layerNorm(x, rows, dim, layer.attentionNorm, eps);
        addInPlace(x, attention(normed, rows, normed, rows, config, layer.attention, false));
        addInPlace(
          x,
          feedForward(layerNorm(x, rows, dim, layer.ffnNorm, eps), rows, config, layer.ffn),
        );
      }
      return layerNorm(x, rows, dim, weights.encoderNorm, eps);
    },
    decode(encoded, decoderTokens) {
      checkTokens(decoderTokens, 'decoderTokens');
      const rows = decoderTokens.length;
      const sourceRows = encoded.length / dim;
      const x = embed(decoderTokens, weights.embed, weights.decoderPositions, dim);
      for (const layer of weights.decoder) {
        const normed = layerNorm(x, rows, dim, layer.selfNorm, eps);
        addInPlace(x, attention(normed, rows, normed, rows, config, layer.self, true));
        const crossIn = layerNorm(x, rows, dim, layer.crossNorm, eps);
        addInPlace(x, attention(crossIn, rows, encoded, sourceRows, config, layer.cross, false));
        addInPlace(
          x,
          feedForward(layerNorm(x, rows, dim, layer.ffnNorm, eps), rows, config, layer.ffn),
        );
      }
      const normed = layerNorm(x, rows, dim, weights.decoderNorm, eps);
      const logits = new Float32Array(rows * vocabSize);
      for (let row = 0; row < rows; row++) {
        for (let token = 0; token < vocabSize; token++) {
          let sum = 0;
          for (let k = 0; k < dim; k++)
            sum += normed[row * dim + k] * weights.lmHead[k * vocabSize + token];
          logits[row * vocabSize + token] = sum;
        }
      }
      return logits;
    },
    greedy(source, maxTokens) {
      const encoded = reference.encode(source);
      const tokens: number[] = [SEQ2SEQ_SPECIAL_IDS.decoderStart];
      const generated: number[] = [];
      while (generated.length < maxTokens && tokens.length < config.maxPositions) {
        const logits = reference.decode(encoded, tokens);
        const row = logits.subarray((tokens.length - 1) * vocabSize);
        let best = 0;
        for (let token = 1; token < vocabSize; token++) if (row[token] > row[best]) best = token;
        tokens.push(best);
        generated.push(best);
        if (best === SEQ2SEQ_SPECIAL_IDS.eos) break;
      }
      return generated;
    },
  };
  return reference;
}

/**
 * The reference forward as an encoder-decoder CausalLM (chains only, no cache: every forward recomputes the
 * decoder from the start token): runs every strategy that needs only chains, without ONNX Runtime, on the
 * same weights as the built folder. Used for the sampling checks (O-dist) where ONNX calls would be too slow.
 */
export function seq2seqReferenceModel(
  config: Seq2SeqConfig,
  weights: Seq2SeqWeights,
  {
    name = 'seq2seq-reference',
    eosTokenIds = [SEQ2SEQ_SPECIAL_IDS.eos],
  }: {
    name?: string;
    /** Ids that end generation (default the fixture's `</s>`; `[]` for fixed-length sampling checks). */
    eosTokenIds?: readonly number[];
  } = {},
): CausalLM {
  const reference = seq2seqReference(config, weights);
  const encodings = new WeakSet<Encoding>();
  // The forward is a pure function of (source, decoder tokens): sampling checks draw 100,000 generations of
  // one source, so both are memoized (bounded: a full memo is dropped and refilled).
  const encoded = new Map<string, Float32Array>();
  const decoded = new WeakMap<Float32Array, Map<string, Float32Array>>();
  const MEMO_LIMIT = 4096;
  const remember = <TValue>(memo: Map<string, TValue>, key: string, compute: () => TValue) => {
    let value = memo.get(key);
    if (value === undefined) {
      if (memo.size >= MEMO_LIMIT) memo.clear();
      value = compute();
      memo.set(key, value);
    }
    return value;
  };
  const decode = (hidden: Float32Array, tokens: readonly number[]): Float32Array => {
    let memo = decoded.get(hidden);
    if (memo === undefined) {
      memo = new Map();
      decoded.set(hidden, memo);
    }
    return remember(memo, tokens.join(','), () => reference.decode(hidden, tokens));
  };
  const { vocabSize } = config;

  class ReferenceSequence implements Sequence {
    private committed: number[];
    private last: number[] | null = null;
    private disposed = false;
    constructor(
      private readonly encoding: Encoding,
      committed: number[] = [],
    ) {
      this.committed = committed;
    }
    get tokens(): readonly number[] {
      return this.committed;
    }
    async forward(input: ForwardInput): Promise<ForwardOutput> {
      if (this.disposed) throw new DisposedError({ what: 'Sequence' });
      if (input.parents !== undefined && input.parents.some((parent, row) => parent !== row - 1)) {
        throw new InvalidArgumentError({
          argument: 'parents',
          message: 'the seq2seq reference model runs chains only (capabilities.tree is false).',
        });
      }
      const rows = Array.from(input.tokens);
      const all = [...this.committed, ...rows];
      const logits = decode(this.encoding.hidden, all);
      this.last = rows;
      return { logits: logits.slice(this.committed.length * vocabSize) };
    }
    commit(rows: ArrayLike<number>): void {
      const last = this.last;
      this.last = null;
      if (rows.length === 0) return;
      if (last === null) {
        throw new InvalidArgumentError({
          argument: 'rows',
          message: 'there is no forward to commit.',
        });
      }
      for (let index = 0; index < rows.length; index++) {
        if (rows[index] !== index || index >= last.length) {
          throw new InvalidArgumentError({
            argument: 'rows',
            message: 'the reference model commits a prefix of a chain (rows 0, 1, ...).',
          });
        }
        this.committed.push(last[index]);
      }
    }
    truncate(length: number): void {
      if (!Number.isInteger(length) || length < 0 || length > this.committed.length) {
        throw new InvalidArgumentError({
          argument: 'length',
          message: `must be an integer in [0, ${this.committed.length}], got ${length}.`,
        });
      }
      this.committed.length = length;
      this.last = null;
    }
    fork(): Sequence {
      return new ReferenceSequence(this.encoding, [...this.committed]);
    }
    dispose(): void {
      this.disposed = true;
    }
  }

  return {
    info: {
      name,
      vocabSize,
      contextLength: config.maxPositions,
      bosTokenId: SEQ2SEQ_SPECIAL_IDS.bos,
      eosTokenIds: [...eosTokenIds],
      numLayers: config.decoderLayers,
      hiddenSize: config.dim,
    },
    capabilities: { tree: false, hiddenStates: false, layerSkip: false, backendId: 'reference' },
    encoderDecoder: {
      decoderStartTokenId: SEQ2SEQ_SPECIAL_IDS.decoderStart,
      maxSourceLength: config.maxPositions,
      async encode(tokens) {
        const source = Array.from(tokens);
        const hidden = remember(encoded, source.join(','), () => reference.encode(source));
        const encoding: Encoding = { tokens: source, hidden };
        encodings.add(encoding);
        return encoding;
      },
    },
    createSequence(options) {
      const encoding = options?.encoding;
      if (encoding === undefined || !encodings.has(encoding)) {
        throw new InvalidArgumentError({
          argument: 'encoding',
          message:
            'an encoder-decoder model opens sequences from an encoding of this model: call model.encoderDecoder.encode(sourceIds) and pass { encoding }.',
        });
      }
      return new ReferenceSequence(encoding);
    },
    async dispose() {},
  };
}
