import { InvalidArgumentError } from '@decodekit/core';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, type LoopOptions } from './training-loop.js';

/**
 * A Llama-2 decoder (llama2.c's architecture: RMSNorm, interleaved-pair RoPE, grouped-query attention, SwiGLU,
 * tied or untied classifier) as TensorFlow.js variables, so a whole model can be fine-tuned here. Shapes follow
 * `@decodekit/models`' `LlamaConfig` / `LlamaWeights` (row-major `[out, in]`, per-layer tensors stacked on a
 * leading axis), so weights come from `readLlama2cCheckpoint` and go back through `writeLlama2cCheckpoint`.
 */
export interface TfLlamaConfig {
  vocabSize: number;
  dim: number;
  hiddenDim: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  contextLength: number;
  tiedEmbeddings: boolean;
  ropeTheta?: number;
  rmsNormEps?: number;
}

/** Weights in llama2.c's layout (the `LlamaWeights` of `@decodekit/models`). */
export interface TfLlamaWeights {
  tokenEmbedding: Float32Array;
  rmsAtt: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  rmsFfn: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
  rmsFinal: Float32Array;
  wcls?: Float32Array;
}

const STACKED = ['rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3'] as const;
type Stacked = (typeof STACKED)[number];

/**
 * Rows that are not one causal chain per sample (placeholder groups, draft trees), in the shape of the core
 * `Sequence.forward` contract: `parents[b * time + r]` is the row of sample b that row r extends (-1: none; a
 * parent comes before its child). Row r attends to its ancestors and itself and sits at position depth(r)
 * (the number of its ancestors). A plain chain is `parents[r] = r - 1`.
 */
export interface TfLlamaLayout {
  /** [batch, time] */
  parents: Int32Array;
}

/** The model's trainable variables (one per layer tensor) and how to run it. */
export interface TfLlama {
  readonly config: TfLlamaConfig;
  readonly variables: Record<string, tf.Variable>;
  /**
   * Logits `[batch, time, vocab]` of `tokens` `[batch, time]` (int32): positions 0..time-1 under a causal
   * mask, or the rows of `layout`.
   */
  logits(tokens: tf.Tensor2D, layout?: TfLlamaLayout): tf.Tensor3D;
  /** Final hidden states `[batch, time, dim]` after the final RMSNorm (what the classifier reads). */
  hidden(tokens: tf.Tensor2D, layout?: TfLlamaLayout): tf.Tensor3D;
  /**
   * Early exits: for each `k` of `exits` (1..numLayers), the logits `[batch, time, vocab]` of the final RMSNorm
   * and the shared classifier applied after layer k — the nested sub-model made of the first k layers and the
   * head (`k = numLayers` is `logits`). One pass through the layers serves every exit. Returned in `exits` order.
   */
  exitLogits(tokens: tf.Tensor2D, exits: readonly number[], layout?: TfLlamaLayout): tf.Tensor3D[];
  /** Current weights in llama2.c's layout. */
  weights(): TfLlamaWeights;
  dispose(): void;
}

/** Throws unless `exits` is a non-empty list of distinct layer counts in [1, numLayers]. */
export function checkExits(exits: readonly number[], numLayers: number): void {
  if (
    !Array.isArray(exits) ||
    exits.length === 0 ||
    new Set(exits).size !== exits.length ||
    exits.some(k => !Number.isInteger(k) || k < 1 || k > numLayers)
  ) {
    throw new InvalidArgumentError({
      argument: 'exits',
      message: `must list distinct layer counts in [1, ${numLayers}], got ${JSON.stringify(exits)}.`,
    });
  }
}

function shapesOf(config: TfLlamaConfig): Record<Stacked, [number, number]> {
  const { dim: d, hiddenDim: h } = config;
  const kv = (d * config.numKvHeads) / config.numHeads;
  return {
    rmsAtt: [1, d],
    wq: [d, d],
    wk: [kv, d],
    wv: [kv, d],
    wo: [d, d],
    rmsFfn: [1, d],
    w1: [h, d],
    w2: [d, h],
    w3: [h, d],
  };
}

/**
 * a [m, k] × b [k, n] whose backward pass is plain 2-D products too (dA = dy · bᵀ, dB = aᵀ · dy, with the
 * transposes done explicitly): the wasm backend runs a plain product through XNNPACK and one with a transposed
 * operand ~7× slower, which made training overhead-bound.
 */
const matMul2d = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, [savedA, savedB]: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(savedB) as tf.Tensor2D),
      tf.matMul(tf.transpose(savedA) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** one-hot [n, vocab] × table [vocab, dim] (an embedding lookup); no gradient flows to the one-hot rows. */
const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [oneHot, table, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([oneHot]);
  return {
    value: tf.matMul(oneHot, table),
    gradFunc: (dy: tf.Tensor, [savedOneHot]: tf.Tensor[]) => [
      tf.zerosLike(savedOneHot),
      tf.matMul(tf.transpose(savedOneHot) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as unknown as (oneHot: tf.Tensor2D, table: tf.Tensor) => tf.Tensor2D;

/**
 * Builds the model's variables from llama2.c-layout weights (copied, so the inputs stay untouched).
 * Call after `useTrainBackend()`.
 * @param config the architecture
 * @param weights the starting weights
 */
export function tfLlama(config: TfLlamaConfig, weights: TfLlamaWeights): TfLlama {
  const { dim, numHeads, numKvHeads, numLayers, vocabSize } = config;
  if (dim % numHeads !== 0 || numHeads % numKvHeads !== 0 || (dim / numHeads) % 2 !== 0) {
    throw new InvalidArgumentError({
      argument: 'config',
      message:
        'dim must split into numHeads even-sized heads, and numHeads into numKvHeads groups.',
    });
  }
  const shapes = shapesOf(config);
  const variables: Record<string, tf.Variable> = {};
  const add = (name: string, values: Float32Array, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} has ${values.length} values; the config needs ${size}.`,
      });
    }
    variables[name] = tf.variable(tf.tensor(Float32Array.from(values), shape), true);
  };
  add('tokenEmbedding', weights.tokenEmbedding, [vocabSize, dim]);
  for (const name of STACKED) {
    const [rows, cols] = shapes[name];
    const size = rows * cols;
    if (weights[name].length !== size * numLayers) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} has ${weights[name].length} values; the config needs ${size * numLayers}.`,
      });
    }
    for (let l = 0; l < numLayers; l++)
      add(
        `${name}.${l}`,
        weights[name].subarray(l * size, (l + 1) * size),
        name.startsWith('rms') ? [cols] : [rows, cols],
      );
  }
  add('rmsFinal', weights.rmsFinal, [dim]);
  if (!config.tiedEmbeddings) {
    if (!weights.wcls)
      throw new InvalidArgumentError({
        argument: 'weights',
        message: 'an untied model needs wcls.',
      });
    add('wcls', weights.wcls, [vocabSize, dim]);
  }

  const headSize = dim / numHeads;
  const half = headSize / 2;
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headSize;
  const eps = config.rmsNormEps ?? 1e-5;
  const scale = 1 / Math.sqrt(headSize);
  // Every matrix product below is a plain 2-D [m, k] × [k, n] one, forward and backward (`matMul2d`): the
  // wasm backend runs those through XNNPACK, and a transposed operand ~7× slower.
  // Query head h reads key/value head floor(h / group), as run.c does: a product with a fixed 0/1 matrix
  // [kvDim, dim] (and the embedding lookup as one-hot × table: the wasm backend has no gradient kernel for gather).
  const expand = new Float32Array(kvDim * dim);
  for (let h = 0; h < numHeads; h++) {
    const source = Math.floor(h / group);
    for (let i = 0; i < headSize; i++) expand[(source * headSize + i) * dim + h * headSize + i] = 1;
  }
  const kvExpand = tf.keep(tf.tensor2d(expand, [kvDim, dim]));
  // RoPE rotates each interleaved pair (x0, x1) of a head to (x0 cos − x1 sin, x1 cos + x0 sin), that is
  // x ⊙ cos + (x · R) ⊙ sin with R the fixed pair swap (x0, x1) → (−x1, x0), block-diagonal over the heads.
  const swap = (width: number) => {
    const values = new Float32Array(width * width);
    for (let i = 0; i < width; i += 2) {
      values[(i + 1) * width + i] = -1;
      values[i * width + i + 1] = 1;
    }
    return tf.keep(tf.tensor2d(values, [width, width]));
  };
  const swapQ = swap(dim);
  const swapK = group > 1 ? swap(kvDim) : swapQ;
  const theta = config.ropeTheta ?? 10000;
  /**
   * cos and sin of the RoPE angles at `depth[i]` per row, `[rows, dim]` (each pair's angle twice, for every
   * head), the query tables already scaled by 1 / √headSize (the attention's scale, folded in).
   */
  const ropeValues = (depth: ArrayLike<number>) => {
    const rows = depth.length;
    const cos = new Float32Array(rows * dim);
    const sin = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < half; i++) {
        const angle = depth[r] / theta ** ((2 * i) / headSize);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        for (let h = 0; h < numHeads; h++) {
          const at = r * dim + h * headSize + 2 * i;
          cos[at] = cos[at + 1] = c;
          sin[at] = sin[at + 1] = s;
        }
      }
    }
    return { cos, sin };
  };
  interface Rows {
    /** [rows or 1 × time, dim] / [.., kvDim] tables; kept for the causal layout, per call otherwise */
    qCos: tf.Tensor;
    qSin: tf.Tensor;
    kCos: tf.Tensor;
    kSin: tf.Tensor;
    /** additive mask [batch or 1, 1, time, time] */
    mask: tf.Tensor;
  }
  const rowTensors = (
    cos: Float32Array,
    sin: Float32Array,
    rows: number,
    mask: tf.Tensor,
  ): Rows => {
    const table = (values: Float32Array, factor: number, width: number) => {
      const out = new Float32Array(rows * width);
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < width; i++) out[r * width + i] = values[r * dim + i] * factor;
      return tf.tensor2d(out, [rows, width]);
    };
    return {
      qCos: table(cos, scale, dim),
      qSin: table(sin, scale, dim),
      kCos: table(cos, 1, kvDim),
      kSin: table(sin, 1, kvDim),
      mask,
    };
  };
  const causalRows = new Map<number, Rows>();
  /** The chain layout of `time` positions (tables `[time, dim]`, broadcast over the batch), built once. */
  const causal = (time: number): Rows => {
    let rows = causalRows.get(time);
    if (!rows) {
      const { cos, sin } = ropeValues(Int32Array.from({ length: time }, (_, t) => t));
      const values = new Float32Array(time * time);
      for (let i = 0; i < time; i++) for (let j = i + 1; j < time; j++) values[i * time + j] = -1e9;
      const made = rowTensors(cos, sin, time, tf.tensor(values, [1, 1, time, time]));
      rows = {
        qCos: tf.keep(made.qCos),
        qSin: tf.keep(made.qSin),
        kCos: tf.keep(made.kCos),
        kSin: tf.keep(made.kSin),
        mask: tf.keep(made.mask),
      };
      causalRows.set(time, rows);
    }
    return rows;
  };
  /**
   * RoPE tables `[batch × time, dim]` and the additive mask `[batch, 1, time, time]` of a layout (not kept:
   * the caller's `tf.tidy`, as for every intermediate tensor, frees them after the backward pass).
   */
  const layoutTensors = (layout: TfLlamaLayout, batch: number, time: number): Rows => {
    const { parents } = layout;
    if (!(parents instanceof Int32Array) || parents.length !== batch * time) {
      throw new InvalidArgumentError({
        argument: 'layout',
        message: `parents must be an Int32Array of batch × time = ${batch * time} rows.`,
      });
    }
    const depth = new Int32Array(batch * time);
    const mask = new Float32Array(batch * time * time).fill(-1e9);
    for (let b = 0; b < batch; b++) {
      for (let r = 0; r < time; r++) {
        const parent = parents[b * time + r];
        if (!Number.isInteger(parent) || parent < -1 || parent >= r) {
          throw new InvalidArgumentError({
            argument: 'layout',
            message: `row ${r} of sample ${b} has parent ${parent}; a parent must be -1 or an earlier row.`,
          });
        }
        depth[b * time + r] = parent < 0 ? 0 : depth[b * time + parent] + 1;
        const row = (b * time + r) * time;
        for (let a = r; a >= 0; a = parents[b * time + a]) mask[row + a] = 0;
      }
    }
    const { cos, sin } = ropeValues(depth);
    return rowTensors(cos, sin, batch * time, tf.tensor(mask, [batch, 1, time, time]));
  };
  const rmsNorm = (x: tf.Tensor, weight: tf.Tensor) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight);
  /** x [rows, in] · weightᵀ (weight [out, in], llama2.c's layout) with plain 2-D products both ways. */
  const linear = (x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D =>
    matMul2d(x, tf.transpose(weight));
  /** RoPE of `x` [n, width] against tables [rows, width] (rows = time for a chain: broadcast over the batch). */
  const rotate = (x: tf.Tensor2D, cos: tf.Tensor, sin: tf.Tensor, swapMatrix: tf.Tensor2D) => {
    const [n, width] = x.shape;
    const rows = cos.shape[0];
    const shaped = (t: tf.Tensor) => tf.reshape(t, [n / rows, rows, width]);
    return tf.reshape(
      tf.add(tf.mul(shaped(x), cos), tf.mul(shaped(matMul2d(x, swapMatrix)), sin)),
      [n, width],
    ) as tf.Tensor2D;
  };
  /** Token embeddings [n, dim]: one-hot × table, the table's gradient the plain product one-hotᵀ · dy. */
  const embed = (ids: tf.Tensor1D): tf.Tensor2D =>
    lookup(tf.cast(tf.oneHot(ids, vocabSize), 'float32') as tf.Tensor2D, variables.tokenEmbedding);
  /** Final-normed hidden states after each layer count of `exits` (validated, any order). */
  const exitHidden = (
    tokens: tf.Tensor2D,
    exits: readonly number[],
    layout?: TfLlamaLayout,
  ): tf.Tensor3D[] => {
    checkExits(exits, numLayers);
    const deepest = Math.max(...exits);
    const atExit = new Map<number, tf.Tensor3D>();
    const [batch, time] = tokens.shape;
    const n = batch * time;
    const rows = layout ? layoutTensors(layout, batch, time) : causal(time);
    const heads = (t: tf.Tensor, perm: number[]) =>
      tf.transpose(tf.reshape(t, [batch, time, numHeads, headSize]), perm);
    const weight = (name: string) => variables[name] as tf.Tensor2D;
    let x = embed(tf.reshape(tokens, [-1]) as tf.Tensor1D);
    for (let l = 0; l < deepest; l++) {
      const h = rmsNorm(x, variables[`rmsAtt.${l}`]) as tf.Tensor2D;
      const q = rotate(linear(h, weight(`wq.${l}`)), rows.qCos, rows.qSin, swapQ);
      let k = rotate(linear(h, weight(`wk.${l}`)), rows.kCos, rows.kSin, swapK);
      let v = linear(h, weight(`wv.${l}`));
      if (group > 1) {
        k = matMul2d(k, kvExpand);
        v = matMul2d(v, kvExpand);
      }
      // [batch, heads, time, headSize] × [batch, heads, headSize, time]: one batched product for every head.
      const scores = tf.add(tf.matMul(heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])), rows.mask);
      const attended = tf.matMul(tf.softmax(scores), heads(v, [0, 2, 1, 3]));
      x = tf.add(
        x,
        linear(tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [n, dim]), weight(`wo.${l}`)),
      );
      const f = rmsNorm(x, variables[`rmsFfn.${l}`]) as tf.Tensor2D;
      const gate = linear(f, weight(`w1.${l}`));
      const up = linear(f, weight(`w3.${l}`));
      x = tf.add(x, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), weight(`w2.${l}`)));
      if (exits.includes(l + 1))
        atExit.set(l + 1, tf.reshape(rmsNorm(x, variables.rmsFinal), [batch, time, dim]));
    }
    return exits.map(k => atExit.get(k) as tf.Tensor3D);
  };
  const hidden = (tokens: tf.Tensor2D, layout?: TfLlamaLayout): tf.Tensor3D =>
    exitHidden(tokens, [numLayers], layout)[0];
  const classify = (normed: tf.Tensor3D): tf.Tensor3D => {
    const [batch, time] = normed.shape;
    const table = (
      config.tiedEmbeddings ? variables.tokenEmbedding : variables.wcls
    ) as tf.Tensor2D;
    return tf.reshape(linear(tf.reshape(normed, [batch * time, dim]), table), [
      batch,
      time,
      vocabSize,
    ]);
  };
  const logits = (tokens: tf.Tensor2D, layout?: TfLlamaLayout): tf.Tensor3D =>
    classify(hidden(tokens, layout));
  const exitLogits = (
    tokens: tf.Tensor2D,
    exits: readonly number[],
    layout?: TfLlamaLayout,
  ): tf.Tensor3D[] => exitHidden(tokens, exits, layout).map(classify);
  const weightsNow = (): TfLlamaWeights => {
    const read = (name: string) => Float32Array.from(variables[name].dataSync() as Float32Array);
    const stacked = Object.fromEntries(
      STACKED.map(name => {
        const parts = Array.from({ length: numLayers }, (_, l) => read(`${name}.${l}`));
        const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
        let offset = 0;
        for (const part of parts) {
          out.set(part, offset);
          offset += part.length;
        }
        return [name, out];
      }),
    ) as Record<Stacked, Float32Array>;
    return {
      tokenEmbedding: read('tokenEmbedding'),
      ...stacked,
      rmsFinal: read('rmsFinal'),
      ...(config.tiedEmbeddings ? {} : { wcls: read('wcls') }),
    };
  };
  return {
    config,
    variables,
    logits,
    hidden,
    exitLogits,
    weights: weightsNow,
    dispose() {
      for (const variable of Object.values(variables)) variable.dispose();
      for (const rows of causalRows.values()) tf.dispose(Object.values(rows));
      tf.dispose(group > 1 ? [kvExpand, swapQ, swapK] : [kvExpand, swapQ]);
    },
  };
}

/** Options of `fineTuneLlama`. */
export interface FineTuneLlamaOptions extends LoopOptions {
  /** Passes over the sequences; sets `steps` when given (steps = ceil(epochs × sequences / batchSize)). */
  epochs?: number;
}

/** What a whole-model training run returns. */
export interface FineTuneLlamaResult {
  weights: TfLlamaWeights;
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}

/**
 * Fine-tunes a whole Llama model with next-token cross-entropy on token sequences (each sequence one training
 * sample, trained from its first token; sequences of unequal length are padded and masked). Adam through
 * `runLoop`: deterministic by seed, resumable from `checkpoint`, progress through `onProgress`.
 * @param config the architecture
 * @param weights the starting weights (not modified)
 * @param sequences training sequences (token ids, each ≥ 2 tokens, ≤ the context length)
 * @param options loop options
 * @returns the fine-tuned weights and the loss curve
 */
export function fineTuneLlama(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  options: FineTuneLlamaOptions,
): Promise<FineTuneLlamaResult> {
  return trainLlamaExits(config, weights, sequences, options, [config.numLayers]);
}

/** A training sequence with the teacher's final hidden state after each of its tokens. */
export interface TeacherSequence {
  tokens: readonly number[];
  /** hidden[t] = the teacher's final hidden state after tokens[t] (it gives the logits of token t + 1). [tokens, hiddenSize] */
  hidden: Float32Array;
}

/** Options of `distillLlama`. */
export interface DistillLlamaOptions extends FineTuneLlamaOptions {
  /** The teacher's classifier `[vocab, hiddenSize]`: its logits after a token are `lmHead · hidden`. */
  lmHead: Float32Array;
  hiddenSize: number;
  /**
   * Weight w ∈ [0, 1] of the distribution-level term: the loss is (1 − w) · CE(next token) + w · CE(teacher
   * softmax, student softmax), i.e. the cross-entropy against the mixed target (1 − w) · one-hot + w · p.
   * w = 0 is `fineTuneLlama`; w = 1 is pure word-level distillation (Hinton et al. 2015; Kim & Rush 2016).
   */
  kdWeight: number;
}

/**
 * Fine-tunes a whole Llama model by knowledge distillation: at every position of the teacher's sequences the
 * student matches the teacher's full next-token distribution (computed from the stored hidden states and the
 * teacher's classifier), mixed with the next-token cross-entropy by `kdWeight`. Same loop, determinism and
 * checkpoints as `fineTuneLlama`.
 * @param config the student's architecture (the teacher's vocabulary)
 * @param weights the starting weights (not modified)
 * @param sequences training sequences with the teacher's hidden states (each ≥ 2 tokens, ≤ the context length)
 * @param options loop options, the teacher's classifier and the distillation weight
 * @returns the trained weights and the loss curve (the mixed cross-entropy, in nats per position)
 */
export async function distillLlama(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly TeacherSequence[],
  options: DistillLlamaOptions,
): Promise<FineTuneLlamaResult> {
  const { lmHead, hiddenSize: H, kdWeight } = options;
  if (!(kdWeight >= 0 && kdWeight <= 1)) {
    throw new InvalidArgumentError({
      argument: 'kdWeight',
      message: `must be a number in [0, 1] (0 = next-token cross-entropy only), got ${kdWeight}.`,
    });
  }
  if (!(Number.isInteger(H) && H > 0) || lmHead.length !== config.vocabSize * H) {
    throw new InvalidArgumentError({
      argument: 'lmHead',
      message: `must hold vocab × hiddenSize = ${config.vocabSize} × ${H} floats (the teacher's classifier), got ${lmHead.length}.`,
    });
  }
  const tokens = sequences.map(sequence => sequence.tokens);
  const longest = checkSequences(tokens, config);
  if (sequences.some(sequence => sequence.hidden.length !== sequence.tokens.length * H)) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: `every sequence needs one teacher hidden state of ${H} floats per token.`,
    });
  }
  const steps =
    options.epochs === undefined
      ? options.steps
      : Math.ceil((options.epochs * sequences.length) / options.batchSize);
  await useTrainBackend(options.backend);
  const model = tfLlama(config, weights);
  const classifier = tf.tensor2d(lmHead, [config.vocabSize, H]);
  const time = longest - 1;
  try {
    const loop = await runLoop({
      kind: `llama-distill-${config.dim}x${config.numLayers}-kd${kdWeight}`,
      variables: model.variables,
      sampleCount: sequences.length,
      options: { ...options, steps },
      lossOf: indices => {
        const B = indices.length;
        const { inputs, labels, mask } = packBatch(tokens, indices, time);
        // Row b·time + t holds the teacher's state after token t (padding rows stay 0 and are masked out).
        const hidden = new Float32Array(B * time * H);
        for (let b = 0; b < B; b++) {
          const sequence = sequences[indices[b]];
          hidden.set(sequence.hidden.subarray(0, (sequence.tokens.length - 1) * H), b * time * H);
        }
        const teacher = tf.softmax(
          tf.matMul(tf.tensor2d(hidden, [B * time, H]), classifier, false, true),
        );
        const targets =
          kdWeight === 1
            ? teacher
            : tf.add(
                tf.mul(teacher, kdWeight),
                tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), config.vocabSize), 1 - kdWeight),
              );
        return tf.losses.softmaxCrossEntropy(
          targets,
          tf.reshape(model.logits(tf.tensor2d(inputs, [B, time], 'int32')), [
            B * time,
            config.vocabSize,
          ]),
          tf.tensor1d(mask),
        ) as tf.Scalar;
      },
    });
    return {
      weights: model.weights(),
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
    };
  } finally {
    classifier.dispose();
    model.dispose();
  }
}

/** Inputs, labels and the padding mask of a batch of sequences, `time` = longest − 1 positions each. */
function packBatch(
  sequences: readonly (readonly number[])[],
  indices: ArrayLike<number>,
  time: number,
): { inputs: Int32Array; labels: Int32Array; mask: Float32Array } {
  const B = indices.length;
  const inputs = new Int32Array(B * time);
  const labels = new Int32Array(B * time);
  const mask = new Float32Array(B * time);
  for (let b = 0; b < B; b++) {
    const sequence = sequences[indices[b]];
    for (let t = 0; t + 1 < sequence.length; t++) {
      inputs[b * time + t] = sequence[t];
      labels[b * time + t] = sequence[t + 1];
      mask[b * time + t] = 1;
    }
  }
  return { inputs, labels, mask };
}

function checkSequences(sequences: readonly (readonly number[])[], config: TfLlamaConfig): number {
  if (!Array.isArray(sequences) || sequences.length === 0)
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: 'need at least one sequence.',
    });
  const longest = Math.max(...sequences.map(s => s.length));
  if (sequences.some(s => s.length < 2) || longest > config.contextLength) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: `every sequence needs 2..${config.contextLength} tokens.`,
    });
  }
  return longest;
}

/** Early stopping of a multi-exit run on held-out full-model perplexity. */
export interface ExitValidation {
  /** Held-out sequences (not the ones a result is reported on), each ≥ 2 tokens. */
  sequences: readonly (readonly number[])[];
  /** Steps between validations (the last step is always validated). */
  every: number;
  /**
   * The full model's largest allowed relative perplexity increase over its starting perplexity on `sequences`
   * (0.02: within 2%). The run returns the weights of the last validation within it.
   */
  maxFullIncrease: number;
  /** Validations in a row above the limit that end the run. Default 1. */
  patience?: number;
  /** Called after each validation (the starting weights' first). */
  onValidation?: (record: ExitValidationRecord) => void;
}

/** One validation of a multi-exit run. */
export interface ExitValidationRecord {
  /** Steps done (0: the starting weights). */
  step: number;
  /** Perplexity per validated exit (the trained exits, plus the full model when it is not one), in that order. */
  perplexity: number[];
}

/** How `trainLlamaExits` weighs, targets and stops its exits. @internal */
export interface ExitTrainingRecipe {
  /** Weight of each exit's loss, in `exits` order (default 1 each). */
  exitWeights?: readonly number[];
  /**
   * α in [0, 1]: each exit's loss is (1 − α) · CE(next token) + α · KL(p₀ ‖ q_exit), where p₀ is the STARTING
   * full model's distribution at that position (self-distillation), read once before training and held in
   * memory (sequences × positions × vocab floats). Default 0 (hard labels only).
   */
  distillation?: number;
  /** Early stopping on held-out full-model perplexity. */
  validation?: ExitValidation;
}

/** What a multi-exit run returns: the chosen weights, the loss curve, and its validations. */
export interface ExitTrainingResult extends FineTuneLlamaResult {
  /** The step whose weights are returned (< `steps` after early stopping or when a later step was over the limit). */
  step: number;
  /** Every validation, the starting weights first (empty without `validation`). */
  validations: ExitValidationRecord[];
}

function checkRecipe(
  recipe: ExitTrainingRecipe,
  exits: readonly number[],
  config: TfLlamaConfig,
  options: FineTuneLlamaOptions,
): void {
  const { exitWeights, distillation, validation } = recipe;
  if (
    exitWeights !== undefined &&
    (!Array.isArray(exitWeights) ||
      exitWeights.length !== exits.length ||
      exitWeights.some(weight => !(weight > 0 && Number.isFinite(weight))))
  ) {
    throw new InvalidArgumentError({
      argument: 'exitWeights',
      message: `must give one positive weight per exit (${exits.length}), got ${JSON.stringify(exitWeights)}.`,
    });
  }
  if (distillation !== undefined && !(distillation >= 0 && distillation <= 1)) {
    throw new InvalidArgumentError({
      argument: 'distillation',
      message: `must be a number in [0, 1] (the KL term's share of each exit's loss), got ${String(distillation)}.`,
    });
  }
  if (validation === undefined) return;
  checkSequences(validation.sequences, config);
  const { every, maxFullIncrease, patience = 1 } = validation;
  if (!Number.isInteger(every) || every < 1 || !Number.isInteger(patience) || patience < 1) {
    throw new InvalidArgumentError({
      argument: 'validation',
      message: `every and patience must be positive integers, got ${String(every)} and ${String(patience)}.`,
    });
  }
  if (!(maxFullIncrease >= 0 && Number.isFinite(maxFullIncrease))) {
    throw new InvalidArgumentError({
      argument: 'validation',
      message: `maxFullIncrease must be a finite number ≥ 0 (0.02: within 2%), got ${String(maxFullIncrease)}.`,
    });
  }
  if (options.checkpoint !== undefined) {
    throw new InvalidArgumentError({
      argument: 'checkpoint',
      message:
        'cannot resume a run with validation (the chosen weights are not in the checkpoint); drop one of them.',
    });
  }
}

/** The model's log-probabilities at every position of every sequence, [sequences × time, vocab] rows. */
function logProbabilitiesOf(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  time: number,
  batchSize = 16,
): Float32Array {
  const rows = time * config.vocabSize;
  const out = new Float32Array(sequences.length * rows);
  const model = tfLlama(config, weights);
  try {
    for (let start = 0; start < sequences.length; start += batchSize) {
      const indices = Array.from(
        { length: Math.min(batchSize, sequences.length - start) },
        (_, i) => start + i,
      );
      const { inputs } = packBatch(sequences, indices, time);
      const values = tf.tidy(
        () =>
          tf
            .logSoftmax(model.logits(tf.tensor2d(inputs, [indices.length, time], 'int32')))
            .dataSync() as Float32Array,
      );
      out.set(values, start * rows);
    }
  } finally {
    model.dispose();
  }
  return out;
}

/**
 * Adam on the weighted sum over the given exits (each: the first k layers, the final RMSNorm and the shared
 * classifier) of the next-token cross-entropy, the KL divergence from the starting model, or a mix of both
 * (`recipe.distillation`); optionally stopped early on held-out full-model perplexity (`recipe.validation`).
 * `[numLayers]` with hard labels is plain fine-tuning; several exits is Sorted Fine-Tuning.
 * @internal
 */
export async function trainLlamaExits(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  options: FineTuneLlamaOptions,
  exits: readonly number[],
  recipe: ExitTrainingRecipe = {},
): Promise<ExitTrainingResult> {
  const longest = checkSequences(sequences, config);
  checkExits(exits, config.numLayers);
  checkRecipe(recipe, exits, config, options);
  const { exitWeights = exits.map(() => 1), distillation = 0, validation } = recipe;
  const steps =
    options.epochs === undefined
      ? options.steps
      : Math.ceil((options.epochs * sequences.length) / options.batchSize);
  await useTrainBackend(options.backend);
  const time = longest - 1;
  const { vocabSize } = config;
  // p₀ of every training position, read once from the starting weights (the teacher never changes).
  const teacher =
    distillation > 0 ? logProbabilitiesOf(config, weights, sequences, time) : undefined;
  const validated = exits.includes(config.numLayers) ? exits : [...exits, config.numLayers];
  const full = validated.indexOf(config.numLayers);
  const validations: ExitValidationRecord[] = [];
  let limit = Number.POSITIVE_INFINITY;
  if (validation) {
    const perplexity = llamaPerplexity(config, weights, validation.sequences, validated);
    validations.push({ step: 0, perplexity });
    validation.onValidation?.({ step: 0, perplexity });
    limit = perplexity[full] * (1 + validation.maxFullIncrease);
  }
  let overLimit = 0;
  const model = tfLlama(config, weights);
  // A copy, so the result never aliases the caller's starting weights.
  let chosen = { step: 0, weights: validation ? model.weights() : weights };
  const plain = exits.length === 1 && exits[0] === config.numLayers;
  const recipeKind = `-w${exitWeights.join('.')}` + (distillation > 0 ? `-kl${distillation}` : '');
  try {
    const loop = await runLoop({
      kind: plain
        ? `llama-finetune-${config.dim}x${config.numLayers}${distillation > 0 ? `-kl${distillation}` : ''}`
        : `llama-sorted-${config.dim}x${config.numLayers}-exits-${exits.join('.')}${recipeKind}`,
      variables: model.variables,
      sampleCount: sequences.length,
      options: { ...options, steps },
      lossOf: indices => {
        const B = indices.length;
        const { inputs, labels, mask } = packBatch(sequences, indices, time);
        const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), vocabSize);
        const weight = tf.tensor1d(mask);
        let teacherLogP: tf.Tensor2D | undefined;
        let teacherP: tf.Tensor2D | undefined;
        if (teacher) {
          const rows = time * vocabSize;
          const batch = new Float32Array(B * rows);
          indices.forEach((index, b) =>
            batch.set(teacher.subarray(index * rows, (index + 1) * rows), b * rows),
          );
          teacherLogP = tf.tensor2d(batch, [B * time, vocabSize]);
          teacherP = tf.exp(teacherLogP);
        }
        const positions = tf.maximum(tf.sum(weight), 1);
        const perExit = model
          .exitLogits(tf.tensor2d(inputs, [B, time], 'int32'), exits)
          .map((logits, i) => {
            const flat = tf.reshape(logits, [B * time, vocabSize]) as tf.Tensor2D;
            const terms: tf.Tensor[] = [];
            if (distillation < 1)
              terms.push(
                tf.mul(tf.losses.softmaxCrossEntropy(targets, flat, weight), 1 - distillation),
              );
            if (teacherLogP && teacherP) {
              // KL(p₀ ‖ q) per row: Σ p₀ (log p₀ − log q), averaged over the real (unpadded) positions.
              const kl = tf.sum(tf.mul(teacherP, tf.sub(teacherLogP, tf.logSoftmax(flat))), -1);
              terms.push(tf.mul(tf.div(tf.sum(tf.mul(kl, weight)), positions), distillation));
            }
            return tf.mul(tf.addN(terms), exitWeights[i]);
          });
        return tf.addN(perExit) as tf.Scalar;
      },
      afterStep: validation
        ? step => {
            if (step % validation.every !== 0 && step !== steps) return false;
            const now = model.weights();
            const perplexity = llamaPerplexity(config, now, validation.sequences, validated);
            validations.push({ step, perplexity });
            validation.onValidation?.({ step, perplexity });
            if (perplexity[full] <= limit) {
              chosen = { step, weights: now };
              overLimit = 0;
              return false;
            }
            overLimit++;
            return overLimit >= (validation.patience ?? 1);
          }
        : undefined,
    });
    return {
      weights: validation ? chosen.weights : model.weights(),
      step: validation ? chosen.step : steps,
      validations,
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Perplexity of each exit on token sequences: exp of the mean next-token cross-entropy over every predicted
 * position (padding excluded). Inference only; call after `useTrainBackend()`.
 * @param config the architecture
 * @param weights the weights to score
 * @param sequences held-out sequences (each ≥ 2 tokens)
 * @param exits layer counts to score (default: the full model)
 * @param batchSize sequences per forward (default 16)
 * @returns perplexity per exit, in `exits` order
 */
export function llamaPerplexity(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  exits: readonly number[] = [config.numLayers],
  batchSize = 16,
): number[] {
  const longest = checkSequences(sequences, config);
  checkExits(exits, config.numLayers);
  const model = tfLlama(config, weights);
  const time = longest - 1;
  const nll = exits.map(() => 0);
  let positions = 0;
  try {
    for (let start = 0; start < sequences.length; start += batchSize) {
      const indices = Array.from(
        { length: Math.min(batchSize, sequences.length - start) },
        (_, i) => start + i,
      );
      const { inputs, labels, mask } = packBatch(sequences, indices, time);
      positions += mask.reduce((sum, value) => sum + value, 0);
      const sums = tf.tidy(() => {
        const B = indices.length;
        const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), config.vocabSize);
        const weight = tf.tensor1d(mask);
        return model
          .exitLogits(tf.tensor2d(inputs, [B, time], 'int32'), exits)
          .map(logits =>
            tf.sum(
              tf.mul(
                tf.neg(
                  tf.sum(
                    tf.mul(
                      targets,
                      tf.logSoftmax(tf.reshape(logits, [B * time, config.vocabSize])),
                    ),
                    -1,
                  ),
                ),
                weight,
              ),
            ),
          );
      });
      sums.forEach((sum, i) => (nll[i] += (sum.dataSync() as Float32Array)[0]));
      tf.dispose(sums);
    }
  } finally {
    model.dispose();
  }
  return nll.map(total => Math.exp(total / positions));
}
