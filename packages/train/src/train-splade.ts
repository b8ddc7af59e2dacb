import { InvalidArgumentError } from '@decodekit/core';
import { tfLlama, type TfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, type LoopOptions } from './training-loop.js';

/** One training pair of `trainSplade`: a query and its relevant document, as token ids without BOS. */
export interface SpladePair {
  readonly query: readonly number[];
  readonly document: readonly number[];
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
}

/** What `trainSplade` returns. */
export interface TrainSpladeResult {
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

function checkPairs(pairs: readonly SpladePair[], config: TfLlamaConfig): void {
  const valid = (ids: readonly number[]) =>
    Array.isArray(ids) &&
    ids.length > 0 &&
    ids.every(id => Number.isInteger(id) && id >= 0 && id < config.vocabSize);
  if (
    !Array.isArray(pairs) ||
    pairs.length < 2 ||
    pairs.some(pair => !valid(pair.query) || !valid(pair.document))
  ) {
    throw new InvalidArgumentError({
      argument: 'pairs',
      message: `need at least 2 pairs, each a non-empty query and document of token ids in [0, ${config.vocabSize}).`,
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
  const {
    flopsDocument = 1e-3,
    flopsQuery = 1e-3,
    l1Query = 0,
    echo = true,
    bosTokenId = 1,
  } = options;
  checkWeight('flopsDocument', flopsDocument);
  checkWeight('flopsQuery', flopsQuery);
  checkWeight('l1Query', l1Query);
  if (options.batchSize < 2) {
    throw new InvalidArgumentError({
      argument: 'batchSize',
      message: `in-batch negatives need at least 2 pairs per batch, got ${options.batchSize}.`,
    });
  }
  const steps =
    options.epochs === undefined
      ? options.steps
      : Math.ceil((options.epochs * pairs.length) / options.batchSize);
  await useTrainBackend(options.backend);
  const model = tfLlama(config, weights);
  const input = { echo, bosTokenId };
  const flops = (vectors: tf.Tensor2D) => tf.sum(tf.square(tf.mean(vectors, 0)));
  try {
    const loop = await runLoop({
      kind: `splade-${config.dim}x${config.numLayers}-${echo ? 'echo' : 'plain'}-f${flopsQuery}.${flopsDocument}-l${l1Query}`,
      variables: model.variables,
      sampleCount: pairs.length,
      options: { ...options, steps },
      lossOf: indices => {
        const batch = Array.from(indices, i => pairs[i]);
        const queries = spladeVectors(
          model,
          batch.map(pair => pair.query),
          input,
        );
        const documents = spladeVectors(
          model,
          batch.map(pair => pair.document),
          input,
        );
        const scores = tf.matMul(queries, documents, false, true); // [batch, batch]
        const labels = tf.oneHot(tf.range(0, batch.length, 1, 'int32'), batch.length);
        let loss = tf.losses.softmaxCrossEntropy(labels, scores) as tf.Scalar;
        if (flopsQuery > 0) loss = tf.add(loss, tf.mul(flops(queries), flopsQuery));
        if (flopsDocument > 0) loss = tf.add(loss, tf.mul(flops(documents), flopsDocument));
        if (l1Query > 0) loss = tf.add(loss, tf.mul(tf.mean(tf.sum(queries, 1)), l1Query));
        return loss;
      },
    });
    return {
      weights: model.weights(),
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
    };
  } finally {
    model.dispose();
  }
}
