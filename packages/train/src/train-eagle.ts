import { InvalidArgumentError } from '@decodekit/core';
import type { EagleWeights } from '@decodekit/strategy-eagle';
import type { Dataset } from './dataset.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';
import { splitSequences } from './train-medusa.js';

/** Options of `trainEagle`. */
export interface TrainEagleOptions extends LoopOptions {
  /** Inner width of the MLP block. Default 4 × hidden. */
  innerSize?: number;
  /**
   * Drafter steps unrolled in training, each fed the previous predicted feature (1 = EAGLE's teacher
   * forcing; more trains on the drafter's own features as EAGLE-3's training-time test does). Default 1.
   */
  unroll?: number;
  /** Weight of the token loss next to the feature regression (EAGLE: 0.1). */
  tokenLossWeight?: number;
  /** Half-width of the uniform noise added to input features (EAGLE adds noise to be robust to its own errors). Default 0.1. */
  noise?: number;
  /** Depth of the held-out chain-acceptance evaluation. Default 6. */
  evalDepth?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

function positions(dataset: Dataset, sequences: [number, number], ahead: number): Int32Array {
  const rows: number[] = [];
  for (let s = sequences[0]; s < sequences[1]; s++) {
    for (let r = dataset.offsets[s]; r + ahead + 1 < dataset.offsets[s + 1]; r++) rows.push(r);
  }
  return Int32Array.from(rows);
}

/**
 * EAGLE training (Li et al., 2024): the drafter maps (embedding of x_{t+1}, feature f_t) to f_{t+1}; loss =
 * SmoothL1(f̂, f) + 0.1 · CE(LMhead(f), LMhead(f̂)) with the target's LM head frozen, input features
 * perturbed by uniform noise. Returns the weights and the held-out acceptance of greedy chains: the mean
 * number of drafted tokens that match the target's greedy continuation, out of `evalDepth`.
 */
export async function trainEagle(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainEagleOptions,
): Promise<{
  weights: EagleWeights;
  heldOut: { top1: number; meanAcceptedChain: number };
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}> {
  const H = dataset.hiddenSize;
  const {
    innerSize = 4 * H,
    unroll = 1,
    tokenLossWeight = 0.1,
    noise = 0.1,
    evalDepth = 6,
    holdout = 0.1,
  } = options;
  if (lmHead.length !== vocabSize * H)
    throw new InvalidArgumentError({
      argument: 'lmHead',
      message: `must hold vocab × hidden = ${vocabSize * H} floats.`,
    });
  if (!Number.isInteger(unroll) || unroll < 1)
    throw new InvalidArgumentError({
      argument: 'unroll',
      message: `must be a positive integer, got ${unroll}.`,
    });
  await useTrainBackend(options.backend);
  const split = splitSequences(dataset, holdout);
  const train = positions(dataset, split.train, unroll);
  const test = positions(dataset, split.test, evalDepth);
  const table = tf.tensor2d(lmHead, [vocabSize, H]);
  const xavier = (rows: number, cols: number, seed: number) =>
    tf.tensor2d(seededUniform(rows * cols, Math.sqrt(6 / (rows + cols)), seed), [rows, cols]);
  const variables: Record<string, tf.Variable> = {
    'fc.weight': tf.variable(xavier(H, 2 * H, options.seed), true, 'fc.weight'),
    'fc.bias': tf.variable(tf.zeros([H]), true, 'fc.bias'),
    'up.weight': tf.variable(xavier(innerSize, H, options.seed + 1), true, 'up.weight'),
    'up.bias': tf.variable(tf.zeros([innerSize]), true, 'up.bias'),
    // Zero: the block starts as the identity around fc, as residual blocks are usually initialized.
    'down.weight': tf.variable(tf.zeros([H, innerSize]), true, 'down.weight'),
    'down.bias': tf.variable(tf.zeros([H]), true, 'down.bias'),
  };
  const step = (feature: tf.Tensor2D, tokens: tf.Tensor1D): tf.Tensor2D => {
    const input = tf.concat([tf.gather(table, tokens), feature], 1);
    const z = tf.add(tf.matMul(input, variables['fc.weight'], false, true), variables['fc.bias']);
    const u = tf.add(tf.matMul(z, variables['up.weight'], false, true), variables['up.bias']);
    const block = tf.add(
      tf.matMul(tf.mul(u, tf.sigmoid(u)), variables['down.weight'], false, true),
      variables['down.bias'],
    );
    return tf.add(z, block) as tf.Tensor2D;
  };
  const features = (rows: ArrayLike<number>, offset: number) => {
    const out = new Float32Array(rows.length * H);
    for (let i = 0; i < rows.length; i++)
      out.set(dataset.hidden.subarray((rows[i] + offset) * H, (rows[i] + offset + 1) * H), i * H);
    return tf.tensor2d(out, [rows.length, H]);
  };
  const tokensAt = (rows: ArrayLike<number>, offset: number) =>
    tf.tensor1d(
      Int32Array.from(rows, r => dataset.tokens[r + offset]),
      'int32',
    );

  const loop = await runLoop({
    kind: `eagle-${innerSize}-${unroll}`,
    variables,
    sampleCount: train.length,
    options,
    lossOf: (indices, stepIndex) => {
      const rows = Array.from(indices, i => train[i]);
      let feature = tf.add(
        features(rows, 0),
        tf.randomUniform(
          [rows.length, H],
          -noise,
          noise,
          'float32',
          options.seed * 1_000_003 + stepIndex,
        ),
      ) as tf.Tensor2D;
      let total = tf.scalar(0);
      for (let s = 1; s <= unroll; s++) {
        const predicted = step(feature, tokensAt(rows, s));
        const target = features(rows, s);
        const regression = tf.losses.huberLoss(target, predicted);
        const teacher = tf.softmax(tf.matMul(target, table, false, true));
        const classification = tf.losses.softmaxCrossEntropy(
          teacher,
          tf.matMul(predicted, table, false, true),
        );
        total = tf.add(
          total,
          tf.div(tf.add(regression, tf.mul(classification, tokenLossWeight)), unroll),
        );
        feature = predicted;
      }
      return total as tf.Scalar;
    },
  });

  // Held-out greedy chains: from the true f_t and x_{t+1}, draft evalDepth tokens feeding back the drafter's
  // own features and tokens; count the matching prefix against the target's tokens.
  let accepted = 0;
  let top1 = 0;
  const chunk = 1024;
  for (let start = 0; start < test.length; start += chunk) {
    const rows = Array.from(test.subarray(start, Math.min(test.length, start + chunk)));
    tf.tidy(() => {
      let feature = features(rows, 0);
      let tokens = tokensAt(rows, 1);
      const alive = Array.from({ length: rows.length }, () => true);
      for (let d = 1; d <= evalDepth; d++) {
        feature = step(feature, tokens);
        tokens = tf.argMax(tf.matMul(feature, table, false, true), 1) as tf.Tensor1D;
        const drafted = tokens.dataSync();
        rows.forEach((r, i) => {
          const match = drafted[i] === dataset.tokens[r + 1 + d];
          if (d === 1 && match) top1++;
          if (alive[i] && match) accepted++;
          else alive[i] = false;
        });
      }
    });
  }
  const heldOut = {
    top1: top1 / Math.max(1, test.length),
    meanAcceptedChain: accepted / Math.max(1, test.length),
  };
  const weights: EagleWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    innerSize,
    fc: { weight: loop.values['fc.weight'], bias: loop.values['fc.bias'] },
    up: { weight: loop.values['up.weight'], bias: loop.values['up.bias'] },
    down: { weight: loop.values['down.weight'], bias: loop.values['down.bias'] },
    training: {
      data: {
        ...dataset.options,
        sequences: dataset.offsets.length - 1,
        trainPositions: train.length,
        heldOutPositions: test.length,
      },
      steps: options.steps,
      batchSize: options.batchSize,
      learningRate: options.learningRate,
      seed: options.seed,
      unroll,
      noise,
      tokenLossWeight,
      backend: `tfjs-${options.backend}`,
      finalLoss: loop.losses.at(-1)?.loss,
      heldOut: {
        top1: Number(heldOut.top1.toFixed(4)),
        meanAcceptedChain: Number(heldOut.meanAcceptedChain.toFixed(4)),
        depth: evalDepth,
      },
    },
  };
  for (const variable of Object.values(variables)) variable.dispose();
  table.dispose();
  return { weights, heldOut, losses: loop.losses, positionsPerSecond: loop.positionsPerSecond };
}
