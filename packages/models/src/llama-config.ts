/**
 * The architecture and weights of a Llama-2 style decoder in llama2.c's conventions: every matrix is row-major
 * `[out, in]` (y = W x) and per-layer tensors are stacked along a leading `[layers]` axis.
 */

/** Architecture of a Llama-2 style model. */
export interface LlamaConfig {
  /** Rows of the embedding and of the classifier. */
  readonly vocabSize: number;
  /** Width of the residual stream (hidden_size). */
  readonly dim: number;
  /** Width of the SwiGLU MLP (intermediate_size). */
  readonly hiddenDim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Key/value heads (GQA); `numHeads` must be a multiple of it. */
  readonly numKvHeads: number;
  /** Maximum positions (max_position_embeddings). */
  readonly contextLength: number;
  /** True when the classifier is the token embedding (tie_word_embeddings). */
  readonly tiedEmbeddings: boolean;
  /** RoPE base, 10000 for llama2.c. */
  readonly ropeTheta?: number;
  /** RMSNorm epsilon, 1e-5 for llama2.c. */
  readonly rmsNormEps?: number;
}

/** Weights of a Llama-2 style model, llama2.c layout (row-major `[out, in]`, stacked per layer). */
export interface LlamaWeights {
  /** [vocab, dim] */
  readonly tokenEmbedding: Float32Array;
  /** [layers, dim] */
  readonly rmsAtt: Float32Array;
  /** [layers, dim, dim] */
  readonly wq: Float32Array;
  /** [layers, kvDim, dim] */
  readonly wk: Float32Array;
  /** [layers, kvDim, dim] */
  readonly wv: Float32Array;
  /** [layers, dim, dim] */
  readonly wo: Float32Array;
  /** [layers, dim] */
  readonly rmsFfn: Float32Array;
  /** [layers, hidden, dim] */
  readonly w1: Float32Array;
  /** [layers, dim, hidden] */
  readonly w2: Float32Array;
  /** [layers, hidden, dim] */
  readonly w3: Float32Array;
  /** [dim] */
  readonly rmsFinal: Float32Array;
  /** [vocab, dim]; absent when the classifier is tied to the embedding. */
  readonly wcls?: Float32Array;
}

/** Head size of `config`. */
export function headDimOf(config: LlamaConfig): number {
  return config.dim / config.numHeads;
}

/** Element counts of every weight tensor of `config`, in llama2.c's file order. */
export function weightSizes(config: LlamaConfig): Array<[keyof LlamaWeights, number]> {
  const { vocabSize: v, dim: d, hiddenDim: h, numLayers: l } = config;
  const kv = (d * config.numKvHeads) / config.numHeads;
  return [
    ['tokenEmbedding', v * d],
    ['rmsAtt', l * d],
    ['wq', l * d * d],
    ['wk', l * kv * d],
    ['wv', l * kv * d],
    ['wo', l * d * d],
    ['rmsFfn', l * d],
    ['w1', l * h * d],
    ['w2', l * d * h],
    ['w3', l * h * d],
    ['rmsFinal', d],
  ];
}
