import { ContextLengthError, InvalidArgumentError } from '@decodekit/core';

/** Architecture of the draft Llama (llama2.c conventions; same fields as @decodekit/models' LlamaConfig). */
export interface DraftLlamaConfig {
  readonly vocabSize: number;
  readonly dim: number;
  readonly hiddenDim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly contextLength: number;
  readonly ropeTheta?: number;
  readonly rmsNormEps?: number;
}

/** Draft Llama weights, llama2.c layout (row-major `[out, in]`, stacked per layer; as LlamaWeights). */
export interface DraftLlamaWeights {
  readonly tokenEmbedding: Float32Array;
  readonly rmsAtt: Float32Array;
  readonly wq: Float32Array;
  readonly wk: Float32Array;
  readonly wv: Float32Array;
  readonly wo: Float32Array;
  readonly rmsFfn: Float32Array;
  readonly w1: Float32Array;
  readonly w2: Float32Array;
  readonly w3: Float32Array;
  readonly rmsFinal: Float32Array;
  /** Absent when the classifier is tied to the embedding. */
  readonly wcls?: Float32Array;
}

/**
 * A pure-TypeScript Llama forward with its own KV cache and a layer-parallel ("fuzzy") mode. In a forward
 * with `groupSize` N > 1 the layers are split into consecutive groups of N; inside a group every layer's
 * attention sublayer reads the group's input (so their projections and KV rows can be computed at the same
 * time on N devices), their outputs are summed into the residual stream, then the group's MLPs run in order.
 * N = 1 is the exact model. KV rows written by a fuzzy forward are approximations; `truncate` drops them.
 */
export interface LayerParallelLlama {
  readonly config: DraftLlamaConfig;
  /** Positions held in the KV cache. */
  readonly length: number;
  /**
   * Appends `tokens` to the cache and returns the logits of every row [tokens, vocab].
   * @param tokens token ids placed at positions `length ...`
   * @param groupSize layers per parallel group (1 = exact)
   */
  forward(tokens: ArrayLike<number>, groupSize?: number): Float32Array;
  /** Drops cached positions from `length` on. */
  truncate(length: number): void;
}

/**
 * Creates a layer-parallel Llama executor over llama2.c-layout weights (e.g. from @decodekit/models'
 * `readLlama2cCheckpoint`).
 * @param config architecture
 * @param weights weights in llama2.c layout
 */
export function layerParallelLlama(
  config: DraftLlamaConfig,
  weights: DraftLlamaWeights,
): LayerParallelLlama {
  if (!config || !weights)
    throw new InvalidArgumentError({
      argument: 'config/weights',
      message: 'need a Llama config and its weights.',
    });
  const { vocabSize, dim, hiddenDim, numLayers, numHeads, numKvHeads, contextLength } = config;
  for (const [name, value] of Object.entries({
    vocabSize,
    dim,
    hiddenDim,
    numLayers,
    numHeads,
    numKvHeads,
    contextLength,
  })) {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError({
        argument: `config.${name}`,
        message: `must be a positive integer, got ${value}.`,
      });
  }
  if (dim % numHeads !== 0 || numHeads % numKvHeads !== 0) {
    throw new InvalidArgumentError({
      argument: 'config',
      message: 'dim must be a multiple of numHeads and numHeads of numKvHeads.',
    });
  }
  const headSize = dim / numHeads;
  const kvDim = (dim * numKvHeads) / numHeads;
  const kvMul = numHeads / numKvHeads;
  const theta = config.ropeTheta ?? 10000;
  const eps = config.rmsNormEps ?? 1e-5;
  const expected: Array<[keyof DraftLlamaWeights, number]> = [
    ['tokenEmbedding', vocabSize * dim],
    ['rmsAtt', numLayers * dim],
    ['wq', numLayers * dim * dim],
    ['wk', numLayers * kvDim * dim],
    ['wv', numLayers * kvDim * dim],
    ['wo', numLayers * dim * dim],
    ['rmsFfn', numLayers * dim],
    ['w1', numLayers * hiddenDim * dim],
    ['w2', numLayers * dim * hiddenDim],
    ['w3', numLayers * hiddenDim * dim],
    ['rmsFinal', dim],
  ];
  for (const [name, size] of expected) {
    const weight = weights[name];
    if (!(weight instanceof Float32Array) || weight.length !== size) {
      throw new InvalidArgumentError({
        argument: `weights.${name}`,
        message: `must be a Float32Array of ${size} values for this config.`,
      });
    }
  }
  const classifier = weights.wcls ?? weights.tokenEmbedding;
  const keyCache = new Float32Array(numLayers * contextLength * kvDim);
  const valueCache = new Float32Array(numLayers * contextLength * kvDim);
  let length = 0;

  // Scratch buffers.
  const x = new Float32Array(dim);
  const groupInput = new Float32Array(dim);
  const xb = new Float32Array(dim);
  const q = new Float32Array(dim);
  const attention = new Float32Array(dim);
  const delta = new Float32Array(dim);
  const hb = new Float32Array(hiddenDim);
  const hb2 = new Float32Array(hiddenDim);
  const scores = new Float32Array(contextLength);

  function rmsnorm(
    out: Float32Array,
    input: Float32Array,
    weight: Float32Array,
    offset: number,
  ): void {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += input[i] * input[i];
    const scale = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[i] = weight[offset + i] * input[i] * scale;
  }

  function matmul(
    out: Float32Array,
    outOffset: number,
    input: Float32Array,
    w: Float32Array,
    wOffset: number,
    rows: number,
    cols: number,
  ): void {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      const base = wOffset + r * cols;
      for (let c = 0; c < cols; c++) sum += w[base + c] * input[c];
      out[outOffset + r] = sum;
    }
  }

  function rope(vector: Float32Array, offset: number, size: number, pos: number): void {
    for (let i = 0; i < size; i += 2) {
      const frequency = 1 / Math.pow(theta, (i % headSize) / headSize);
      const angle = pos * frequency;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const v0 = vector[offset + i];
      const v1 = vector[offset + i + 1];
      vector[offset + i] = v0 * cos - v1 * sin;
      vector[offset + i + 1] = v0 * sin + v1 * cos;
    }
  }

  /** Attention sublayer of `layer` on `input` at `pos`: writes the layer's KV row, returns wo·attention in `delta`. */
  function attend(layer: number, input: Float32Array, pos: number): void {
    rmsnorm(xb, input, weights.rmsAtt, layer * dim);
    const kvBase = layer * contextLength * kvDim;
    matmul(q, 0, xb, weights.wq, layer * dim * dim, dim, dim);
    matmul(keyCache, kvBase + pos * kvDim, xb, weights.wk, layer * kvDim * dim, kvDim, dim);
    matmul(valueCache, kvBase + pos * kvDim, xb, weights.wv, layer * kvDim * dim, kvDim, dim);
    rope(q, 0, dim, pos);
    rope(keyCache, kvBase + pos * kvDim, kvDim, pos);
    const scale = 1 / Math.sqrt(headSize);
    for (let h = 0; h < numHeads; h++) {
      const kvHead = Math.floor(h / kvMul) * headSize;
      let max = -Infinity;
      for (let t = 0; t <= pos; t++) {
        let dot = 0;
        const k = kvBase + t * kvDim + kvHead;
        for (let i = 0; i < headSize; i++) dot += q[h * headSize + i] * keyCache[k + i];
        scores[t] = dot * scale;
        if (scores[t] > max) max = scores[t];
      }
      let sum = 0;
      for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t] - max);
      for (let i = 0; i < headSize; i++) attention[h * headSize + i] = 0;
      for (let t = 0; t <= pos; t++) {
        const weight = scores[t] / sum;
        const v = kvBase + t * kvDim + kvHead;
        for (let i = 0; i < headSize; i++)
          attention[h * headSize + i] += weight * valueCache[v + i];
      }
    }
    matmul(delta, 0, attention, weights.wo, layer * dim * dim, dim, dim);
  }

  function mlp(layer: number): void {
    rmsnorm(xb, x, weights.rmsFfn, layer * dim);
    matmul(hb, 0, xb, weights.w1, layer * hiddenDim * dim, hiddenDim, dim);
    matmul(hb2, 0, xb, weights.w3, layer * hiddenDim * dim, hiddenDim, dim);
    for (let i = 0; i < hiddenDim; i++) hb[i] = (hb[i] / (1 + Math.exp(-hb[i]))) * hb2[i];
    matmul(delta, 0, hb, weights.w2, layer * dim * hiddenDim, dim, hiddenDim);
    for (let i = 0; i < dim; i++) x[i] += delta[i];
  }

  return {
    config,
    get length() {
      return length;
    },
    forward(tokens, groupSize = 1) {
      if (!Number.isInteger(groupSize) || groupSize < 1) {
        throw new InvalidArgumentError({
          argument: 'groupSize',
          message: `must be a positive integer, got ${groupSize}.`,
        });
      }
      if (length + tokens.length > contextLength) {
        throw new ContextLengthError({
          length: length + tokens.length,
          contextLength,
          what: 'The draft Llama cache',
        });
      }
      const logits = new Float32Array(tokens.length * vocabSize);
      for (let row = 0; row < tokens.length; row++) {
        const token = tokens[row];
        if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
          throw new InvalidArgumentError({
            argument: 'tokens',
            message: `token id ${token} is outside the vocabulary [0, ${vocabSize}).`,
          });
        }
        const pos = length;
        x.set(weights.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
        for (let first = 0; first < numLayers; first += groupSize) {
          const last = Math.min(numLayers, first + groupSize);
          // Every attention sublayer of the group reads the group's input (exact when the group has one layer).
          groupInput.set(x);
          for (let layer = first; layer < last; layer++) {
            attend(layer, groupInput, pos);
            for (let i = 0; i < dim; i++) x[i] += delta[i];
          }
          for (let layer = first; layer < last; layer++) mlp(layer);
        }
        rmsnorm(xb, x, weights.rmsFinal, 0);
        matmul(logits, row * vocabSize, xb, classifier, 0, vocabSize, dim);
        length++;
      }
      return logits;
    },
    truncate(newLength) {
      if (!Number.isInteger(newLength) || newLength < 0) {
        throw new InvalidArgumentError({
          argument: 'length',
          message: `must be a non-negative integer, got ${newLength}.`,
        });
      }
      length = Math.min(length, newLength);
    },
  };
}
