import { InvalidArgumentError } from '@decodekit/core';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';

/** One contrastive example: a prefix, its gold continuation and model-generated continuations of it. */
export interface RankerExample {
  /** Features of the prefix (all examples one width). */
  prefix: Float32Array;
  /** Features of the gold continuation. */
  gold: Float32Array;
  /** Features of continuations the ranker must score below the gold one (same count in every example). */
  negatives: readonly Float32Array[];
}

/** Options of `trainRanker`. */
export interface TrainRankerOptions extends LoopOptions {
  /** Width of the shared embedding space. Default 32. */
  dim?: number;
}

/**
 * Trains a RankGen-style dual encoder on fixed features (RankGen, Krishna et al., 2022): prefix and
 * continuation projections `P`, `S` scored by `P·f(prefix) · S·f(continuation)`, with the paper's contrastive
 * objective — softmax cross-entropy of the gold continuation against the example's model-generated negatives
 * and every other gold continuation in the batch (in-batch negatives). Adam, deterministic by seed, resumable.
 * @param examples training examples
 * @param options loop options and the embedding width
 * @returns the projections, row-major [dim × features], and the loss curve
 */
export async function trainRanker(
  examples: readonly RankerExample[],
  options: TrainRankerOptions,
): Promise<{
  prefix: Float32Array;
  suffix: Float32Array;
  dim: number;
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}> {
  const { dim = 32 } = options;
  if (!Number.isInteger(dim) || dim < 1)
    throw new InvalidArgumentError({
      argument: 'dim',
      message: `must be a positive integer, got ${dim}.`,
    });
  if (!Array.isArray(examples) || examples.length < 2)
    throw new InvalidArgumentError({
      argument: 'examples',
      message: 'need at least 2 examples (in-batch negatives).',
    });
  const F = examples[0].prefix.length;
  const m = examples[0].negatives.length;
  const consistent = examples.every(
    e =>
      e.prefix.length === F &&
      e.gold.length === F &&
      e.negatives.length === m &&
      e.negatives.every((n: Float32Array) => n.length === F),
  );
  if (!consistent)
    throw new InvalidArgumentError({
      argument: 'examples',
      message: `every example needs features of one width (${F}) and ${m} negatives.`,
    });
  await useTrainBackend(options.backend);
  const scale = 1 / Math.sqrt(F);
  const variables = {
    prefix: tf.variable(tf.tensor2d(seededUniform(dim * F, scale, options.seed), [dim, F]), true),
    suffix: tf.variable(
      tf.tensor2d(seededUniform(dim * F, scale, options.seed + 1), [dim, F]),
      true,
    ),
  };
  const loop = await runLoop({
    kind: `rankgen-ranker-${dim}`,
    variables,
    sampleCount: examples.length,
    options,
    lossOf: indices => {
      const B = indices.length;
      const prefixes = new Float32Array(B * F);
      const golds = new Float32Array(B * F);
      const negatives = new Float32Array(B * m * F);
      for (let i = 0; i < B; i++) {
        const example = examples[indices[i]];
        prefixes.set(example.prefix, i * F);
        golds.set(example.gold, i * F);
        for (let j = 0; j < m; j++) negatives.set(example.negatives[j], (i * m + j) * F);
      }
      const p = tf.matMul(tf.tensor2d(prefixes, [B, F]), variables.prefix, false, true);
      const g = tf.matMul(tf.tensor2d(golds, [B, F]), variables.suffix, false, true);
      const inBatch = tf.matMul(p, g, false, true); // [B, B], gold on the diagonal
      const n = tf.reshape(
        tf.matMul(tf.tensor2d(negatives, [B * m, F]), variables.suffix, false, true),
        [B, m, dim],
      );
      const own = tf.sum(tf.mul(tf.expandDims(p, 1), n), 2); // [B, m]
      const logits = tf.concat([inBatch, own], 1);
      const labels = tf.oneHot(tf.range(0, B, 1, 'int32'), B + m);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    },
  });
  for (const variable of Object.values(variables)) variable.dispose();
  return {
    prefix: loop.values.prefix,
    suffix: loop.values.suffix,
    dim,
    losses: loop.losses,
    positionsPerSecond: loop.positionsPerSecond,
  };
}
