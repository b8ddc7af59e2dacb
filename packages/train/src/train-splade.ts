import { InvalidArgumentError, bm25Idf } from '@decodekit/core';
import { tfLlama, type TfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, type LoopOptions } from './training-loop.js';

/** One training pair of `trainSplade`: a query and its relevant document, as token ids without BOS. */
export interface SpladePair {
  readonly query: readonly number[];
  readonly document: readonly number[];
  /**
   * A hard negative: a document that is not relevant to the query but shares its words (e.g. BM25's best
   * wrong document, `bm25HardNegatives`). It joins the batch's documents, so every query of the batch ranks
   * it too (SPLADE v2's in-batch plus BM25 negatives).
   */
  readonly negative?: readonly number[];
}

/** How texts become model inputs; the same rules as `causalLmSplade` of `@decodekit/retrieval-splade`. */
export interface SpladeInputOptions {
  /** Echo embeddings: feed `x ; x` and pool only over the second copy. Default true. */
  echo?: boolean;
  /** Token put before every text (`causalLmSplade` uses the tokenizer's BOS); null for none. Default 1. */
  bosTokenId?: number | null;
}

/** Options of `trainSplade`. */
export interface TrainSpladeOptions extends LoopOptions, SpladeInputOptions {
  /** Passes over the pairs; sets `steps` when given (steps = ceil(epochs × pairs / batchSize)). */
  epochs?: number;
  /**
   * Weight of the FLOPS regulariser (Paria et al., 2020, used by SPLADE): `Σ_j (mean over the batch of w_j)²`,
   * on the document vectors. Default 1e-3.
   */
  flopsDocument?: number;
  /** The same on the query vectors. Default 1e-3. */
  flopsQuery?: number;
  /** Weight of the L1 norm of the query vectors (mean over the batch), as SPLADE-v2's query regulariser. Default 0. */
  l1Query?: number;
  /**
   * Steps over which the regulariser weights grow quadratically from 0 to their value (`(step / n)²`, as
   * SPLADE does), so the ranking loss shapes the vectors before sparsity is pushed. Default 0 (full weight at once).
   */
  regularizerWarmupSteps?: number;
  /**
   * What is trained. `all` (default): every weight, through the whole network. `head`: only the classifier —
   * untied from the embedding table when the model ties them (initialised from it), the transformer frozen — so
   * the final hidden states of every pair are computed once and a step costs one `[rows, dim] × [dim, vocab]`
   * product: a parameter-efficient fine-tune (vocab × dim weights) that runs hundreds of steps a minute on a CPU.
   */
  trainable?: 'all' | 'head';
  /**
   * Where the classifier starts with `trainable: 'head'`. `model` (default): the model's own classifier (the
   * next-token head). `lexical`: the least-squares head that makes each pooled row's logits reproduce the
   * row's own token weighted by its BM25 IDF over the training documents, and a negative logit for every
   * other token (`lexicalClassifier`), aiming at the IDF-weighted token bag that token-id BM25 ranks with; the
   * ranking loss then learns expansion and weights from there. It only helps when the final hidden state
   * linearly encodes its own token: on stories260K (dim 64) it does not, and the start is worse than `model`
   * (see retrieval-splade's README).
   */
  headInit?: 'model' | 'lexical';
}

/** What `trainSplade` returns. */
export interface TrainSpladeResult {
  /** The architecture of `weights` (untied when `trainable: 'head'` untied the classifier). */
  config: TfLlamaConfig;
  weights: TfLlamaWeights;
  /** Total loss (ranking + regularisers) at each logged step. */
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}

/** Token ids a text becomes (`[bos?] x [x]`), and the first row pooled, as `causalLmSplade` builds them. */
function spladeInput(
  ids: readonly number[],
  config: TfLlamaConfig,
  { echo = true, bosTokenId = 1 }: SpladeInputOptions,
): { tokens: number[]; fromRow: number } {
  const prefix = bosTokenId === null ? [] : [bosTokenId];
  const room = config.contextLength - prefix.length;
  const kept = ids.slice(0, echo ? Math.floor(room / 2) : room);
  return {
    tokens: echo ? [...prefix, ...kept, ...kept] : [...prefix, ...kept],
    fromRow: echo ? prefix.length + kept.length : prefix.length,
  };
}

/**
 * SPLADE vectors `[batch, vocab]` of token sequences (each ≥ 1 token, no BOS) through a TensorFlow.js Llama:
 * `w_j = max_i log(1 + ReLU(z_ij))` over the pooled rows (the second copy in echo mode), padding excluded.
 * Differentiable; call inside `tf.tidy` (or dispose the result).
 * @param model the model
 * @param texts token ids of each text
 * @param options how texts become inputs (echo, BOS)
 */
export function spladeVectors(
  model: TfLlama,
  texts: readonly (readonly number[])[],
  options: SpladeInputOptions = {},
): tf.Tensor2D {
  const inputs = texts.map(ids => spladeInput(ids, model.config, options));
  const time = Math.max(...inputs.map(input => input.tokens.length));
  const batch = inputs.length;
  const tokens = new Int32Array(batch * time);
  const mask = new Float32Array(batch * time);
  inputs.forEach((input, b) => {
    tokens.set(input.tokens, b * time);
    for (let t = input.fromRow; t < input.tokens.length; t++) mask[b * time + t] = 1;
  });
  const logits = model.logits(tf.tensor2d(tokens, [batch, time], 'int32'));
  // log1p(relu(.)) ≥ 0, so zeroing a masked row keeps it out of the max.
  const weights = tf.mul(tf.log1p(tf.relu(logits)), tf.tensor3d(mask, [batch, time, 1]));
  return tf.max(weights, 1) as tf.Tensor2D;
}

/** Checks SPLADE training pairs (at least 2; each query, document and negative non-empty ids in the vocabulary). */
export function checkPairs(pairs: readonly SpladePair[], config: TfLlamaConfig): void {
  const valid = (ids: readonly number[]) =>
    Array.isArray(ids) &&
    ids.length > 0 &&
    ids.every(id => Number.isInteger(id) && id >= 0 && id < config.vocabSize);
  if (
    !Array.isArray(pairs) ||
    pairs.length < 2 ||
    pairs.some(
      pair =>
        !valid(pair.query) ||
        !valid(pair.document) ||
        (pair.negative !== undefined && !valid(pair.negative)),
    )
  ) {
    throw new InvalidArgumentError({
      argument: 'pairs',
      message: `need at least 2 pairs, each a non-empty query and document (and optional negative) of token ids in [0, ${config.vocabSize}).`,
    });
  }
}

function checkWeight(argument: string, value: number): void {
  if (!(value >= 0 && Number.isFinite(value))) {
    throw new InvalidArgumentError({
      argument,
      message: `must be a finite number ≥ 0, got ${value}.`,
    });
  }
}

/**
 * Checks the options of {@link trainSplade} that do not depend on the pairs (regulariser weights, batch size,
 * what trains, the head's start), so a caller can reject them before it generates pairs.
 * @throws InvalidArgumentError naming the option and what it accepts.
 */
export function checkSpladeOptions(
  options: Pick<
    TrainSpladeOptions,
    | 'flopsDocument'
    | 'flopsQuery'
    | 'l1Query'
    | 'regularizerWarmupSteps'
    | 'batchSize'
    | 'trainable'
    | 'headInit'
  >,
): void {
  checkWeight('flopsDocument', options.flopsDocument ?? 1e-3);
  checkWeight('flopsQuery', options.flopsQuery ?? 1e-3);
  checkWeight('l1Query', options.l1Query ?? 0);
  checkWeight('regularizerWarmupSteps', options.regularizerWarmupSteps ?? 0);
  if (options.batchSize < 2) {
    throw new InvalidArgumentError({
      argument: 'batchSize',
      message: `in-batch negatives need at least 2 pairs per batch, got ${options.batchSize}.`,
    });
  }
  const trainable = options.trainable ?? 'all';
  if (trainable !== 'all' && trainable !== 'head') {
    throw new InvalidArgumentError({
      argument: 'trainable',
      message: `must be 'all' or 'head', got ${JSON.stringify(trainable)}.`,
    });
  }
  if (
    options.headInit !== undefined &&
    options.headInit !== 'model' &&
    options.headInit !== 'lexical'
  ) {
    throw new InvalidArgumentError({
      argument: 'headInit',
      message: `must be 'model' or 'lexical', got ${JSON.stringify(options.headInit)}.`,
    });
  }
}

/**
 * Fine-tunes a decoder LM as a SPLADE encoder (Mistral-SPLADE, Doshi et al., 2024,
 * https://arxiv.org/abs/2408.11119; SPLADE v2, Formal et al., 2021, https://arxiv.org/abs/2109.10086): the
 * loss is the in-batch contrastive ranking loss — cross-entropy of each query over `dot(w_q, w_d)` of every
 * document in the batch, its own document the label — plus FLOPS (and optionally L1) sparsity regularisation.
 * Vectors are pooled exactly as `causalLmSplade` pools them at inference (echo, BOS, context cut), so the
 * trained weights, written with `writeLlama2cCheckpoint`, are used as they were trained. Full fine-tuning with
 * Adam through `runLoop`: deterministic by seed, resumable from `checkpoint`.
 * @param config the architecture
 * @param weights the starting weights (not modified)
 * @param pairs training pairs (the other pairs of a batch are each query's negatives: keep documents distinct)
 * @param options loop options, regulariser weights and the input rules
 * @returns the tuned weights and the loss curve
 */
export async function trainSplade(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  pairs: readonly SpladePair[],
  options: TrainSpladeOptions,
): Promise<TrainSpladeResult> {
  checkPairs(pairs, config);
  checkSpladeOptions(options);
  const {
    flopsDocument = 1e-3,
    flopsQuery = 1e-3,
    l1Query = 0,
    echo = true,
    bosTokenId = 1,
  } = options;
  const trainable = options.trainable ?? 'all';
  const steps =
    options.epochs === undefined
      ? options.steps
      : Math.ceil((options.epochs * pairs.length) / options.batchSize);
  await useTrainBackend(options.backend);
  if (trainable === 'head') return trainSpladeHead(config, weights, pairs, { ...options, steps });
  const model = tfLlama(config, weights);
  const input = { echo, bosTokenId };
  const regularizers = regularizerSchedule(options);
  try {
    const loop = await runLoop({
      kind: `splade-${config.dim}x${config.numLayers}-${echo ? 'echo' : 'plain'}-f${flopsQuery}.${flopsDocument}-l${l1Query}${runTag(options, pairs)}`,
      variables: model.variables,
      sampleCount: pairs.length,
      options: { ...options, steps },
      lossOf: (indices, step) => {
        const batch = Array.from(indices, i => pairs[i]);
        const queries = spladeVectors(
          model,
          batch.map(pair => pair.query),
          input,
        );
        const documents = spladeVectors(model, batchDocuments(batch), input);
        return spladeLoss(queries, documents, regularizers(step));
      },
    });
    return {
      config,
      weights: model.weights(),
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
    };
  } finally {
    model.dispose();
  }
}

/** The documents of a batch: every pair's document, then the hard negatives of the pairs that have one. */
function batchDocuments<T>(batch: readonly { document: T; negative?: T }[]): T[] {
  return [
    ...batch.map(pair => pair.document),
    ...batch.flatMap(pair => (pair.negative === undefined ? [] : [pair.negative])),
  ];
}

/** What else a checkpoint's kind records (a run with hard negatives or a warm-up does not resume one without). */
function runTag(options: TrainSpladeOptions, pairs: readonly SpladePair[]): string {
  const warmup = options.regularizerWarmupSteps ?? 0;
  return `${warmup > 0 ? `-w${warmup}` : ''}${pairs.some(pair => pair.negative) ? '-hn' : ''}`;
}

/** The regulariser weights at a step: the configured ones, ramped up quadratically over the warm-up. */
function regularizerSchedule(
  options: TrainSpladeOptions,
): (step: number) => { flopsQuery: number; flopsDocument: number; l1Query: number } {
  const { flopsDocument = 1e-3, flopsQuery = 1e-3, l1Query = 0 } = options;
  const warmup = options.regularizerWarmupSteps ?? 0;
  return step => {
    const ramp = warmup > 0 ? Math.min(1, (step + 1) / warmup) ** 2 : 1;
    return {
      flopsQuery: flopsQuery * ramp,
      flopsDocument: flopsDocument * ramp,
      l1Query: l1Query * ramp,
    };
  };
}

/**
 * In-batch contrastive ranking loss over `dot(w_q, w_d)` plus the FLOPS / L1 regularisers. Query `i`'s
 * relevant document is row `i` of `documents`; the other rows (the batch's other documents, then its hard
 * negatives) are its negatives.
 */
function spladeLoss(
  queries: tf.Tensor2D, // [batch, vocab]
  documents: tf.Tensor2D, // [batch + negatives, vocab]
  weights: { flopsQuery: number; flopsDocument: number; l1Query: number },
): tf.Scalar {
  const flops = (vectors: tf.Tensor2D) => tf.sum(tf.square(tf.mean(vectors, 0)));
  const batch = queries.shape[0];
  const scores = tf.matMul(queries, documents, false, true); // [batch, batch + negatives]
  const labels = tf.oneHot(tf.range(0, batch, 1, 'int32'), documents.shape[0]);
  let loss = tf.losses.softmaxCrossEntropy(labels, scores) as tf.Scalar;
  if (weights.flopsQuery > 0) loss = tf.add(loss, tf.mul(flops(queries), weights.flopsQuery));
  if (weights.flopsDocument > 0)
    loss = tf.add(loss, tf.mul(flops(documents), weights.flopsDocument));
  if (weights.l1Query > 0)
    loss = tf.add(loss, tf.mul(tf.mean(tf.sum(queries, 1)), weights.l1Query));
  return loss;
}

/** Final hidden states `[rows, dim]` of the pooled rows of each text, from one frozen forward per chunk. */
function pooledHidden(
  model: TfLlama,
  texts: readonly (readonly number[])[],
  input: SpladeInputOptions,
  chunk = 32,
): Float32Array[] {
  const { dim } = model.config;
  const out: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += chunk) {
    const inputs = texts
      .slice(start, start + chunk)
      .map(ids => spladeInput(ids, model.config, input));
    const time = Math.max(...inputs.map(item => item.tokens.length));
    const tokens = new Int32Array(inputs.length * time);
    inputs.forEach((item, b) => tokens.set(item.tokens, b * time));
    const hidden = tf.tidy(
      () =>
        model
          .hidden(tf.tensor2d(tokens, [inputs.length, time], 'int32'))
          .dataSync() as Float32Array,
    );
    inputs.forEach((item, b) =>
      out.push(
        hidden.slice((b * time + item.fromRow) * dim, (b * time + item.tokens.length) * dim),
      ),
    );
  }
  return out;
}

/** Logit targets of `lexicalClassifier`: the row's token gets `IDF_SCALE · idf`, every other token `-MARGIN`. */
const LEXICAL_INIT = { idfScale: 1, margin: 1, ridge: 1 };

/**
 * The lexical classifier `[vocab, dim]`: ridge regression `W = (Σ y hᵀ)(Σ h hᵀ + λI)⁻¹` over the pooled rows
 * `h` of the training texts, the target `y` of a row being `idfScale · idf(t)` for the row's own token `t`
 * (BM25 IDF over `idfDocuments`) and `-margin` for every other token. Max-pooled through `log(1 + ReLU(.))`,
 * a text's vector is then about its token bag weighted by IDF.
 * @param rows pooled hidden rows of each text, `[tokens, dim]` flattened (as `pooledHidden` returns them)
 * @param texts token ids of each text (row k of a text is its token k, after the context cut)
 * @param idfDocuments the documents the IDF counts over
 */
function lexicalClassifier(
  rows: readonly Float32Array[],
  texts: readonly (readonly number[])[],
  idfDocuments: readonly (readonly number[])[],
  config: TfLlamaConfig,
  input: SpladeInputOptions,
): Float32Array {
  const { dim, vocabSize } = config;
  const { idfScale, margin, ridge } = LEXICAL_INIT;
  const frequency = new Float64Array(vocabSize);
  for (const document of idfDocuments) for (const id of new Set(document)) frequency[id]++;
  const idf = Float64Array.from(frequency, n => bm25Idf(idfDocuments.length, n));
  const gram = new Float64Array(dim * dim); // Σ h hᵀ + λI
  const sum = new Float64Array(dim); // Σ h
  const byToken = new Float64Array(vocabSize * dim); // Σ over the rows of token j of h
  rows.forEach((block, t) => {
    const { tokens, fromRow } = spladeInput(texts[t], config, input);
    for (let k = 0; k * dim < block.length; k++) {
      const token = tokens[fromRow + k];
      for (let a = 0; a < dim; a++) {
        const ha = block[k * dim + a];
        sum[a] += ha;
        byToken[token * dim + a] += ha;
        for (let b = 0; b < dim; b++) gram[a * dim + b] += ha * block[k * dim + b];
      }
    }
  });
  for (let a = 0; a < dim; a++) gram[a * dim + a] += ridge;
  const inverse = invertSymmetric(gram, dim);
  const out = new Float32Array(vocabSize * dim);
  const target = new Float64Array(dim);
  for (let j = 0; j < vocabSize; j++) {
    const positive = idfScale * idf[j] + margin;
    for (let a = 0; a < dim; a++) target[a] = positive * byToken[j * dim + a] - margin * sum[a];
    for (let b = 0; b < dim; b++) {
      let value = 0;
      for (let a = 0; a < dim; a++) value += target[a] * inverse[a * dim + b];
      out[j * dim + b] = value;
    }
  }
  return out;
}

/** Inverse of a symmetric positive-definite `[n, n]` matrix (Gauss-Jordan; `n` is the model width). */
function invertSymmetric(matrix: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(matrix);
  const inverse = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inverse[i * n + i] = 1;
  for (let column = 0; column < n; column++) {
    const pivot = a[column * n + column];
    for (let k = 0; k < n; k++) {
      a[column * n + k] /= pivot;
      inverse[column * n + k] /= pivot;
    }
    for (let row = 0; row < n; row++) {
      if (row === column) continue;
      const factor = a[row * n + column];
      if (factor === 0) continue;
      for (let k = 0; k < n; k++) {
        a[row * n + k] -= factor * a[column * n + k];
        inverse[row * n + k] -= factor * inverse[column * n + k];
      }
    }
  }
  return inverse;
}

/** `trainSplade` with `trainable: 'head'`: the classifier alone over frozen, precomputed hidden states. */
async function trainSpladeHead(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  pairs: readonly SpladePair[],
  options: TrainSpladeOptions & { steps: number },
): Promise<TrainSpladeResult> {
  const {
    flopsDocument = 1e-3,
    flopsQuery = 1e-3,
    l1Query = 0,
    echo = true,
    bosTokenId = 1,
  } = options;
  const input = { echo, bosTokenId };
  const regularizers = regularizerSchedule(options);
  const frozen = tfLlama(config, weights);
  let queries: Float32Array[];
  let documents: Float32Array[];
  let negatives: (Float32Array | undefined)[];
  try {
    queries = pooledHidden(
      frozen,
      pairs.map(pair => pair.query),
      input,
    );
    documents = pooledHidden(
      frozen,
      pairs.map(pair => pair.document),
      input,
    );
    const withNegative = pairs.flatMap(pair =>
      pair.negative === undefined ? [] : [pair.negative],
    );
    const negativeRows = pooledHidden(frozen, withNegative, input);
    let next = 0;
    negatives = pairs.map(pair => (pair.negative === undefined ? undefined : negativeRows[next++]));
  } finally {
    frozen.dispose();
  }
  const { dim, vocabSize } = config;
  const initial =
    options.headInit === 'lexical'
      ? lexicalClassifier(
          [...queries, ...documents],
          [...pairs.map(pair => pair.query), ...pairs.map(pair => pair.document)],
          pairs.map(pair => pair.document),
          config,
          input,
        )
      : Float32Array.from(weights.wcls ?? weights.tokenEmbedding);
  const classifier = tf.variable(tf.tensor2d(initial, [vocabSize, dim]), true, 'wcls');
  /** SPLADE vectors of texts from their pooled hidden rows (padding rows masked out of the max). */
  const vectors = (rows: Float32Array[]): tf.Tensor2D => {
    const time = Math.max(...rows.map(r => r.length / dim));
    const packed = new Float32Array(rows.length * time * dim);
    const mask = new Float32Array(rows.length * time);
    rows.forEach((r, b) => {
      packed.set(r, b * time * dim);
      mask.fill(1, b * time, b * time + r.length / dim);
    });
    const logits = tf.reshape(
      tf.matMul(tf.tensor2d(packed, [rows.length * time, dim]), classifier, false, true),
      [rows.length, time, vocabSize],
    );
    const weighted = tf.mul(tf.log1p(tf.relu(logits)), tf.tensor3d(mask, [rows.length, time, 1]));
    return tf.max(weighted, 1) as tf.Tensor2D;
  };
  try {
    const loop = await runLoop({
      kind: `splade-head-${config.dim}x${config.numLayers}-${echo ? 'echo' : 'plain'}-f${flopsQuery}.${flopsDocument}-l${l1Query}${runTag(options, pairs)}`,
      variables: { wcls: classifier },
      sampleCount: pairs.length,
      options,
      lossOf: (indices, step) =>
        spladeLoss(
          vectors(Array.from(indices, i => queries[i])),
          vectors(
            batchDocuments(
              Array.from(indices, i => ({ document: documents[i], negative: negatives[i] })),
            ),
          ),
          regularizers(step),
        ),
    });
    return {
      config: { ...config, tiedEmbeddings: false },
      weights: { ...weights, wcls: Float32Array.from(loop.values.wcls) },
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
    };
  } finally {
    classifier.dispose();
  }
}
