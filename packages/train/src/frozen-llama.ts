import { InvalidArgumentError } from '@decodekit/core';
import type { TfLlamaConfig, TfLlamaWeights } from './llama-tf.js';
import { tf } from './tf-backend.js';

/** Architecture of a llama2.c-style decoder: `tfLlama`'s config (a tied classifier when `wcls` is absent). */
export type LlamaShape = Omit<TfLlamaConfig, 'tiedEmbeddings'>;

/** llama2.c weights (row-major `[out, in]`, stacked per layer), as `tfLlama` takes them. */
export type LlamaTensorsSource = Readonly<TfLlamaWeights>;

interface Layer {
  rmsAtt: tf.Tensor1D;
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wv: tf.Tensor2D;
  wo: tf.Tensor2D;
  rmsFfn: tf.Tensor1D;
  w1: tf.Tensor2D;
  w2: tf.Tensor2D;
  w3: tf.Tensor2D;
}

/** Per-layer keys (RoPE applied) and values of a sequence, each [kvHeads, length, headDim]. */
export interface LlamaCache {
  readonly keys: tf.Tensor3D[];
  readonly values: tf.Tensor3D[];
  readonly length: number;
}

/**
 * A frozen Llama-2 decoder in TensorFlow.js (llama2.c's `run.c` math: RMSNorm, interleaved RoPE, GQA,
 * SwiGLU, tied classifier), used to train inputs that pass through the target (PPD's prompt embeddings):
 * gradients flow to the inputs, never to these constants. Call `dispose()` when done.
 */
export class FrozenLlama {
  readonly shape: LlamaShape;
  readonly headDim: number;
  private readonly layers: Layer[];
  private readonly embedding: tf.Tensor2D;
  private readonly classifier: tf.Tensor2D;
  private readonly rmsFinal: tf.Tensor1D;
  private readonly eps: number;
  private readonly theta: number;

  constructor(shape: LlamaShape, weights: LlamaTensorsSource) {
    const { dim, hiddenDim, numLayers, numHeads, numKvHeads, vocabSize } = shape;
    if (dim % numHeads !== 0 || numHeads % numKvHeads !== 0 || (dim / numHeads) % 2 !== 0) {
      throw new InvalidArgumentError({
        argument: 'shape',
        message: `dim ${dim} must split into ${numHeads} heads of even size, shared by ${numKvHeads} KV heads.`,
      });
    }
    if (weights.tokenEmbedding.length !== vocabSize * dim) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `tokenEmbedding must hold vocab × dim = ${vocabSize * dim} floats; is this the checkpoint of the model?`,
      });
    }
    this.shape = shape;
    this.headDim = dim / numHeads;
    this.eps = shape.rmsNormEps ?? 1e-5;
    this.theta = shape.ropeTheta ?? 10000;
    const kvDim = this.headDim * numKvHeads;
    const slice = (array: Float32Array, layer: number, size: number) =>
      array.subarray(layer * size, (layer + 1) * size);
    this.layers = Array.from({ length: numLayers }, (_, l) => ({
      rmsAtt: tf.tensor1d(slice(weights.rmsAtt, l, dim)),
      wq: tf.tensor2d(slice(weights.wq, l, dim * dim), [dim, dim]),
      wk: tf.tensor2d(slice(weights.wk, l, kvDim * dim), [kvDim, dim]),
      wv: tf.tensor2d(slice(weights.wv, l, kvDim * dim), [kvDim, dim]),
      wo: tf.tensor2d(slice(weights.wo, l, dim * dim), [dim, dim]),
      rmsFfn: tf.tensor1d(slice(weights.rmsFfn, l, dim)),
      w1: tf.tensor2d(slice(weights.w1, l, hiddenDim * dim), [hiddenDim, dim]),
      w2: tf.tensor2d(slice(weights.w2, l, dim * hiddenDim), [dim, hiddenDim]),
      w3: tf.tensor2d(slice(weights.w3, l, hiddenDim * dim), [hiddenDim, dim]),
    }));
    this.embedding = tf.tensor2d(weights.tokenEmbedding, [vocabSize, dim]);
    this.classifier = weights.wcls ? tf.tensor2d(weights.wcls, [vocabSize, dim]) : this.embedding;
    this.rmsFinal = tf.tensor1d(weights.rmsFinal);
  }

  /** Token input embeddings. [rows, dim] */
  embed(tokens: Int32Array): tf.Tensor2D {
    return tf.gather(this.embedding, tf.tensor1d(tokens, 'int32')) as tf.Tensor2D;
  }

  /**
   * Causal forward of a whole sequence from position 0: logits [length, vocab], the per-layer cache, and the
   * residual stream entering each layer (`states[l]`, l = 0 .. numLayers; `states[numLayers]` is the last
   * layer's output before the final norm). [length, dim] each
   */
  forward(tokens: Int32Array): { logits: tf.Tensor2D; cache: LlamaCache; states: tf.Tensor2D[] } {
    const length = tokens.length;
    const positions = Int32Array.from({ length }, (_, i) => i);
    let x: tf.Tensor2D = this.embed(tokens);
    const keys: tf.Tensor3D[] = [];
    const values: tf.Tensor3D[] = [];
    const states: tf.Tensor2D[] = [x];
    // Additive causal mask [length, length].
    const mask = tf.tensor2d(
      Float32Array.from({ length: length * length }, (_, i) =>
        i % length > Math.floor(i / length) ? -1e9 : 0,
      ),
      [length, length],
    );
    for (const layer of this.layers) {
      const h = this.rmsNorm(x, layer.rmsAtt);
      const q = this.rope(
        this.heads(tf.matMul(h, layer.wq, false, true), this.shape.numHeads),
        positions,
      );
      const k = this.rope(
        this.heads(tf.matMul(h, layer.wk, false, true), this.shape.numKvHeads),
        positions,
      );
      const v = this.heads(tf.matMul(h, layer.wv, false, true), this.shape.numKvHeads);
      keys.push(k);
      values.push(v);
      const scores = tf.add(
        tf.div(tf.matMul(q, this.repeatKv(k), false, true), Math.sqrt(this.headDim)),
        mask,
      );
      // [heads, length, headDim]
      const attended = tf.matMul(
        tf.softmax(scores) as tf.Tensor3D,
        this.repeatKv(v),
      ) as tf.Tensor3D;
      x = tf.add(x, tf.matMul(this.merge(attended), layer.wo, false, true));
      x = tf.add(x, this.ffn(x, layer));
      states.push(x);
    }
    return { logits: this.logits(x), cache: { keys, values, length }, states };
  }

  /**
   * Rows appended after every cut point of a cached sequence: group g holds `inputs` [rows, dim] placed
   * after the first `cuts[g] + 1` tokens (positions cuts[g] + 1, ...), attending to those tokens and causally
   * to the group's earlier rows. With `chains` = m > 1 the rows form m interleaved chains (PPD's ensemble
   * attention): row r sits at position cuts[g] + 1 + ⌊r / m⌋ and sees the group's rows r' ≤ r with
   * r' ≡ r (mod m) only. Returns logits [groups, rows, vocab]; differentiable in `inputs`.
   */
  appendedLogits(
    cache: LlamaCache,
    cuts: Int32Array,
    inputs: tf.Tensor2D,
    chains = 1,
  ): tf.Tensor3D {
    const [rows, dim] = inputs.shape;
    const tiled = tf.reshape(tf.tile(tf.expandDims(inputs, 0), [cuts.length, 1, 1]), [
      cuts.length * rows,
      dim,
    ]) as tf.Tensor2D;
    return this.transferredLogits(cache, cuts, tiled, rows, 0, chains);
  }

  /**
   * Like `appendedLogits`, with its own rows per group entering the residual stream at layer `fromLayer` (after
   * the first `fromLayer` layers; Hidden Transfer's pseudo hidden states): `states` [groups · rows, dim] holds
   * group g's rows at g · rows .. (g + 1) · rows - 1. They pass layers fromLayer .. numLayers - 1, attending to
   * the cached keys and values of those layers, then the final norm and classifier. Returns logits
   * [groups, rows, vocab]; differentiable in `states`. `chains`: as in `appendedLogits` (rows a multiple).
   */
  transferredLogits(
    cache: LlamaCache,
    cuts: Int32Array,
    states: tf.Tensor2D,
    rows: number,
    fromLayer: number,
    chains = 1,
  ): tf.Tensor3D {
    const groups = cuts.length;
    const { numHeads, numKvHeads, numLayers } = this.shape;
    const n = groups * rows;
    if (
      !Number.isInteger(rows) ||
      rows < 1 ||
      states.shape[0] !== n ||
      !Number.isInteger(fromLayer) ||
      fromLayer < 0 ||
      fromLayer >= numLayers ||
      !Number.isInteger(chains) ||
      chains < 1 ||
      rows % chains !== 0
    ) {
      throw new InvalidArgumentError({
        argument: 'states',
        message: `needs ${groups} groups × ${rows} rows (a multiple of ${chains} chains) and a layer in [0, ${numLayers - 1}], got ${states.shape[0]} rows and layer ${fromLayer}.`,
      });
    }
    const positions = Int32Array.from(
      { length: n },
      (_, i) => cuts[Math.floor(i / rows)] + 1 + Math.floor((i % rows) / chains),
    );
    // Row (g, i) sees cached token j when j ≤ cuts[g], and its own group's rows ≤ i.
    const prefixMask = tf.tensor2d(
      Float32Array.from({ length: n * cache.length }, (_, index) =>
        index % cache.length > cuts[Math.floor(Math.floor(index / cache.length) / rows)] ? -1e9 : 0,
      ),
      [n, cache.length],
    );
    // Row a sees its own group's row b ≤ a of the same chain.
    const ownMask = tf.tensor2d(
      Float32Array.from({ length: rows * rows }, (_, i) => {
        const a = Math.floor(i / rows);
        const b = i % rows;
        return b > a || (a - b) % chains !== 0 ? -1e9 : 0;
      }),
      [rows, rows],
    );
    let x = states;
    this.layers.forEach((layer, l) => {
      if (l < fromLayer) return;
      const h = this.rmsNorm(x, layer.rmsAtt);
      const q = this.rope(this.heads(tf.matMul(h, layer.wq, false, true), numHeads), positions); // [H, n, hd]
      const k = this.rope(this.heads(tf.matMul(h, layer.wk, false, true), numKvHeads), positions);
      const v = this.heads(tf.matMul(h, layer.wv, false, true), numKvHeads);
      const scale = Math.sqrt(this.headDim);
      const prefixScores = tf.add(
        tf.div(tf.matMul(q, this.repeatKv(cache.keys[l]), false, true), scale),
        prefixMask,
      ); // [H, n, length]
      const byGroup = (t: tf.Tensor3D, heads: number) =>
        tf.reshape(t, [heads, groups, rows, this.headDim]) as tf.Tensor4D;
      const ownScores = tf.add(
        tf.div(
          tf.matMul(byGroup(q, numHeads), byGroup(this.repeatKv(k), numHeads), false, true),
          scale,
        ),
        ownMask,
      ); // [H, groups, rows, rows]
      const probabilities = tf.softmax(
        tf.concat([prefixScores, tf.reshape(ownScores, [numHeads, n, rows])], 2),
      );
      const [prefixP, ownP] = tf.split(probabilities, [cache.length, rows], 2);
      const attended = tf.add(
        tf.matMul(prefixP as tf.Tensor3D, this.repeatKv(cache.values[l])),
        tf.reshape(
          tf.matMul(
            tf.reshape(ownP, [numHeads, groups, rows, rows]) as tf.Tensor4D,
            byGroup(this.repeatKv(v), numHeads),
          ),
          [numHeads, n, this.headDim],
        ),
      ) as tf.Tensor3D;
      x = tf.add(x, tf.matMul(this.merge(attended), layer.wo, false, true));
      x = tf.add(x, this.ffn(x, layer));
    });
    return tf.reshape(this.logits(x), [groups, rows, this.shape.vocabSize]) as tf.Tensor3D;
  }

  dispose(): void {
    for (const layer of this.layers) for (const tensor of Object.values(layer)) tensor.dispose();
    this.embedding.dispose();
    if (this.classifier !== this.embedding) this.classifier.dispose();
    this.rmsFinal.dispose();
  }

  private rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D): tf.Tensor2D {
    const meanSquare = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, this.eps))), weight);
  }

  private ffn(x: tf.Tensor2D, layer: Layer): tf.Tensor2D {
    const h = this.rmsNorm(x, layer.rmsFfn);
    const gate = tf.matMul(h, layer.w1, false, true);
    const up = tf.matMul(h, layer.w3, false, true);
    return tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), layer.w2, false, true);
  }

  /** The final RMSNorm (what the graph's `hidden_states` output and the classifier read). [rows, dim] */
  finalNorm(x: tf.Tensor2D): tf.Tensor2D {
    return this.rmsNorm(x, this.rmsFinal);
  }

  private logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(this.finalNorm(x), this.classifier, false, true);
  }

  /** [rows, heads * headDim] → [heads, rows, headDim]. */
  private heads(x: tf.Tensor2D, heads: number): tf.Tensor3D {
    return tf.transpose(tf.reshape(x, [x.shape[0], heads, this.headDim]), [1, 0, 2]);
  }

  /** [heads, rows, headDim] → [rows, heads * headDim]. */
  private merge(x: tf.Tensor3D): tf.Tensor2D {
    const [heads, rows] = x.shape;
    return tf.reshape(tf.transpose(x, [1, 0, 2]), [rows, heads * this.headDim]);
  }

  /** KV heads repeated for the query heads sharing them (llama2.c: head h reads KV head h / (H / KV)). */
  private repeatKv(x: tf.Tensor3D): tf.Tensor3D {
    const { numHeads, numKvHeads } = this.shape;
    if (numHeads === numKvHeads) return x;
    const [, rows, headDim] = x.shape;
    const repeat = numHeads / numKvHeads;
    return tf.reshape(tf.tile(tf.expandDims(x, 1), [1, repeat, 1, 1]), [numHeads, rows, headDim]);
  }

  /** llama2.c's RoPE: pairs (x[2i], x[2i+1]) of each head rotate by pos · θ^(-2i / headDim). */
  private rope(x: tf.Tensor3D, positions: Int32Array): tf.Tensor3D {
    const [heads, rows, headDim] = x.shape;
    const half = headDim / 2;
    const cos = new Float32Array(rows * half);
    const sin = new Float32Array(rows * half);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < half; i++) {
        const angle = positions[r] / this.theta ** ((2 * i) / headDim);
        cos[r * half + i] = Math.cos(angle);
        sin[r * half + i] = Math.sin(angle);
      }
    }
    const c = tf.tensor3d(cos, [rows, half, 1]);
    const s = tf.tensor3d(sin, [rows, half, 1]);
    const pairs = tf.reshape(x, [heads, rows, half, 2]);
    const [even, odd] = tf.split(pairs, 2, 3);
    const rotated = tf.concat(
      [tf.sub(tf.mul(even, c), tf.mul(odd, s)), tf.add(tf.mul(even, s), tf.mul(odd, c))],
      3,
    );
    return tf.reshape(rotated, [heads, rows, headDim]);
  }
}
