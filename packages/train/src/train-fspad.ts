import { InvalidArgumentError } from '@decodekit/core';
import {
  FSPAD_TENSORS,
  fspadShapes,
  type FspadTensor,
  type FspadWeights,
} from '@decodekit/strategy-fspad';
import type { Dataset } from './dataset.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';
import { splitSequences } from './train-medusa.js';

/** Options of `trainFspad`. */
export interface TrainFspadOptions extends LoopOptions {
  /** Inner width of both gated MLPs. Default 2 × hidden. */
  innerSize?: number;
  /**
   * Drafter steps unrolled in training, each fed the previous predicted feature (1 = EAGLE's teacher
   * forcing; more trains on the drafter's own features as EAGLE-3's training-time test does). Default 1.
   */
  unroll?: number;
  /** Weight of the token loss (FSPAD's p_w = 0.1) next to the feature regression (v_w = 1). */
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
 * FSPAD training (Luc4Gui/FSPAD `main_fspad.py`): loss = 1.0 · SmoothL1(regressed half, f) + 0.1 ·
 * CE(LMhead(f), LMhead(head half)), target frozen, input features perturbed by uniform noise, `unroll` steps
 * fed the drafter's own regressed features. Returns the weights and the held-out acceptance of greedy chains.
 */
export async function trainFspad(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainFspadOptions,
): Promise<{
  weights: FspadWeights;
  heldOut: { top1: number; meanAcceptedChain: number };
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}> {
  const H = dataset.hiddenSize;
  const {
    innerSize = 2 * H,
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
  const shapes = fspadShapes(H, innerSize);
  const variables = Object.fromEntries(
    FSPAD_TENSORS.map((name, index) => {
      const shape = shapes[name];
      let initial: tf.Tensor;
      if (name.startsWith('norm')) initial = tf.ones(shape);
      else if (name === 'fc.bias' || name.endsWith('.down'))
        initial = tf.zeros(shape); // residual blocks start as identities
      else initial = xavier(shape[0], shape[1] ?? 1, options.seed + index);
      return [name, tf.variable(initial, true, name)];
    }),
  ) as Record<FspadTensor, tf.Variable>;
  const rmsNorm = (x: tf.Tensor2D, weight: tf.Tensor) =>
    tf.mul(
      tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-6))),
      weight,
    ) as tf.Tensor2D;
  const linear = (x: tf.Tensor2D, name: FspadTensor) =>
    tf.matMul(x, variables[name], false, true) as tf.Tensor2D;
  const silu = (x: tf.Tensor2D) => tf.mul(x, tf.sigmoid(x)) as tf.Tensor2D;
  /** One drafter step: the LM-head half and the regressed feature. */
  const step = (
    feature: tf.Tensor2D,
    tokens: tf.Tensor1D,
  ): { head: tf.Tensor2D; next: tf.Tensor2D } => {
    const embedding = tf.gather(table, tokens) as tf.Tensor2D;
    let z = tf.add(
      linear(tf.concat([embedding, feature], 1), 'fc.weight'),
      variables['fc.bias'],
    ) as tf.Tensor2D;
    const sampled = linear(
      tf.mul(
        silu(linear(embedding, 'emlp.gate')),
        linear(rmsNorm(z, variables.norm1), 'emlp.up'),
      ) as tf.Tensor2D,
      'emlp.down',
    );
    z = tf.add(z, sampled) as tf.Tensor2D;
    const n = rmsNorm(z, variables.norm2);
    const y = tf.add(
      tf.concat([z, z], 1),
      linear(tf.mul(silu(linear(n, 'mlp.gate')), linear(n, 'mlp.up')) as tf.Tensor2D, 'mlp.down'),
    ) as tf.Tensor2D;
    return { head: tf.slice(y, [0, 0], [-1, H]), next: tf.slice(y, [0, H], [-1, H]) };
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
    kind: `fspad-${innerSize}-${unroll}`,
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
        const { head, next } = step(feature, tokensAt(rows, s));
        const target = features(rows, s);
        const regression = tf.losses.huberLoss(target, next);
        const teacher = tf.softmax(tf.matMul(target, table, false, true));
        const classification = tf.losses.softmaxCrossEntropy(
          teacher,
          tf.matMul(head, table, false, true),
        );
        total = tf.add(
          total,
          tf.div(tf.add(regression, tf.mul(classification, tokenLossWeight)), unroll),
        );
        feature = next;
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
        const { head, next } = step(feature, tokens);
        feature = next;
        tokens = tf.argMax(tf.matMul(head, table, false, true), 1) as tf.Tensor1D;
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
  const weights: FspadWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    innerSize,
    tensors: Object.fromEntries(FSPAD_TENSORS.map(name => [name, loop.values[name]])) as Record<
      FspadTensor,
      Float32Array
    >,
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
