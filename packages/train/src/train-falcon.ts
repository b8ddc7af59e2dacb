import { seededRandom } from '@decodekit/core';
import {
  FALCON_TENSORS,
  falconShapes,
  type FalconTensor,
  type FalconWeights,
} from '@decodekit/strategy-falcon';
import type { Dataset } from './dataset.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { xavier, type TrainedFeatureDrafter } from './train-feature-drafter.js';
import {
  chainScorer,
  checkTrainingInputs,
  heldOutRecord,
  positions,
  splitSequences,
  trainingRecord,
} from './training-data.js';
import { runLoop, type LoopOptions } from './training-loop.js';

/** Options of `trainFalcon`. */
export interface TrainFalconOptions extends LoopOptions {
  /** Inner width of the two MLP layers. Default 4 × hidden. */
  innerSize?: number;
  /** Blocks (of two tokens) unrolled in training, each fed the previous block's predicted features. Default 2. */
  unroll?: number;
  /**
   * Glancing: probability that an unrolled block reads the target's true features instead of the drafter's
   * own predictions (per sample, both features of the block together). Default 0.5.
   */
  glance?: number;
  /** Weight of the token loss next to the feature regression (Falcon's p_w = 0.1, v_w = 1). */
  tokenLossWeight?: number;
  /** Half-width of the uniform noise added to the first block's input features. Default 0.1. */
  noise?: number;
  /** Depth of the held-out chain-acceptance evaluation (tokens; blocks of two). Default 6. */
  evalDepth?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

/**
 * Falcon training (Bestpay-inc/Falcon `train/glance.py`, `k_mask = 2`), on the target's own generations with
 * the target frozen: a block reads (f_{t-1}, x_t) and (f_t, x_{t+1}) and regresses f_{t+1} and f_{t+2}; loss
 * per predicted feature = SmoothL1(f̂, f) + 0.1 · CE(softmax(E f), E f̂). Coupled sequential glancing
 * distillation, as read here: `unroll` blocks run in sequence, each fed the previous block's predicted
 * features (the drafter's own inputs at inference), except that with probability `glance` a sample's block
 * glances at the target's true features instead, which keeps the two outputs of a block trained on
 * consistent inputs while the drafter learns to continue its own blocks. Tokens are the target's
 * (teacher-forced). Returns the weights and the held-out acceptance of greedy chains.
 */
export async function trainFalcon(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainFalconOptions,
): Promise<TrainedFeatureDrafter<FalconWeights>> {
  const H = dataset.hiddenSize;
  const {
    innerSize = 4 * H,
    unroll = 2,
    glance = 0.5,
    tokenLossWeight = 0.1,
    noise = 0.1,
    evalDepth = 6,
    holdout = 0.1,
  } = options;
  checkTrainingInputs(dataset, lmHead, vocabSize, { innerSize, unroll, evalDepth });
  await useTrainBackend(options.backend);
  const split = splitSequences(dataset, holdout);
  const train = positions(dataset, split.train, 2 * unroll);
  const test = positions(dataset, split.test, evalDepth + 1);
  const startOf = new Int32Array(dataset.tokens.length);
  for (let s = 0; s + 1 < dataset.offsets.length; s++)
    startOf.fill(dataset.offsets[s], dataset.offsets[s], dataset.offsets[s + 1]);

  const table = tf.tensor2d(lmHead, [vocabSize, H]);
  const shapes = falconShapes(H, innerSize);
  const variables = Object.fromEntries(
    FALCON_TENSORS.map((name, index) => {
      const shape = shapes[name];
      let initial: tf.Tensor;
      if (name.startsWith('norm')) initial = tf.ones(shape);
      else if (name === 'fc.bias' || name.startsWith('down'))
        initial = tf.zeros(shape); // residual layers start as identities
      else initial = xavier(shape[0], shape[1] ?? 1, options.seed + index);
      return [name, tf.variable(initial, true, name)];
    }),
  ) as Record<FalconTensor, tf.Variable>;
  const linear = (x: tf.Tensor2D, name: FalconTensor) =>
    tf.matMul(x, variables[name], false, true) as tf.Tensor2D;
  const layer = (z: tf.Tensor2D, norm: FalconTensor, up: FalconTensor, down: FalconTensor) => {
    const n = tf.mul(
      tf.mul(z, tf.rsqrt(tf.add(tf.mean(tf.square(z), 1, true), 1e-6))),
      variables[norm],
    ) as tf.Tensor2D;
    const u = linear(n, up);
    return tf.add(z, linear(tf.mul(u, tf.sigmoid(u)) as tf.Tensor2D, down)) as tf.Tensor2D;
  };
  /** One block: (f_{t-1}, x_t), (f_t, x_{t+1}) → f̂_{t+1}, f̂_{t+2}. */
  const block = (
    previousFeature: tf.Tensor2D,
    previousToken: tf.Tensor1D,
    feature: tf.Tensor2D,
    token: tf.Tensor1D,
  ): [tf.Tensor2D, tf.Tensor2D] => {
    const input = tf.concat(
      [tf.gather(table, previousToken), previousFeature, tf.gather(table, token), feature],
      1,
    ) as tf.Tensor2D;
    let z = tf.add(linear(input, 'fc.weight'), variables['fc.bias']) as tf.Tensor2D;
    z = layer(z, 'norm1', 'up1', 'down1');
    z = layer(z, 'norm2', 'up2', 'down2');
    return [tf.slice(z, [0, 0], [-1, H]), tf.slice(z, [0, H], [-1, H])];
  };
  /** Hidden states after tokens[r + offset] (clamped to the sequence start: the first step knows one state). */
  const featureAt = (rows: readonly number[], offset: number) => {
    const out = new Float32Array(rows.length * H);
    rows.forEach((r, i) => {
      const at = Math.max(startOf[r], r + offset);
      out.set(dataset.hidden.subarray(at * H, (at + 1) * H), i * H);
    });
    return tf.tensor2d(out, [rows.length, H]);
  };
  const tokenAt = (rows: readonly number[], offset: number) =>
    tf.tensor1d(
      Int32Array.from(rows, r => dataset.tokens[Math.max(startOf[r], r + offset)]),
      'int32',
    );
  const tokenLoss = (target: tf.Tensor2D, predicted: tf.Tensor2D) =>
    tf.add(
      tf.losses.huberLoss(target, predicted),
      tf.mul(
        tf.losses.softmaxCrossEntropy(
          tf.softmax(tf.matMul(target, table, false, true)),
          tf.matMul(predicted, table, false, true),
        ),
        tokenLossWeight,
      ),
    );

  const loop = await runLoop({
    kind: `falcon-${innerSize}-${unroll}`,
    variables,
    sampleCount: train.length,
    options,
    lossOf: (indices, stepIndex) => {
      const rows = Array.from(indices, i => train[i]);
      const random = seededRandom(options.seed * 1_000_003 + stepIndex);
      const perturb = (x: tf.Tensor2D, salt: number) =>
        tf.add(
          x,
          tf.randomUniform(
            x.shape,
            -noise,
            noise,
            'float32',
            options.seed * 1_000_003 + stepIndex * 7 + salt,
          ),
        ) as tf.Tensor2D;
      let previousFeature = perturb(featureAt(rows, -1), 0);
      let feature = perturb(featureAt(rows, 0), 1);
      let total = tf.scalar(0);
      for (let b = 0; b < unroll; b++) {
        const [first, second] = block(
          previousFeature,
          tokenAt(rows, 2 * b),
          feature,
          tokenAt(rows, 2 * b + 1),
        );
        const targetFirst = featureAt(rows, 2 * b + 1);
        const targetSecond = featureAt(rows, 2 * b + 2);
        total = tf.add(
          total,
          tf.div(
            tf.add(tokenLoss(targetFirst, first), tokenLoss(targetSecond, second)),
            2 * unroll,
          ),
        );
        // Glancing: per sample, the next block reads the true features or the predicted ones.
        const glancing = tf.tensor2d(
          rows.map(() => (random.next() < glance ? 1 : 0)),
          [rows.length, 1],
        );
        const keep = tf.sub(1, glancing);
        previousFeature = tf.add(tf.mul(glancing, targetFirst), tf.mul(keep, first)) as tf.Tensor2D;
        feature = tf.add(tf.mul(glancing, targetSecond), tf.mul(keep, second)) as tf.Tensor2D;
      }
      return total as tf.Scalar;
    },
  });

  // Held-out greedy chains: from the true block, draft evalDepth tokens two per forward on the drafter's
  // own features and tokens; count the prefix that matches the target's tokens.
  const scorer = chainScorer(dataset);
  const chunk = 2048;
  for (let start = 0; start < test.length; start += chunk) {
    const rows = Array.from(test.subarray(start, Math.min(test.length, start + chunk)));
    const record = scorer.begin(rows);
    tf.tidy(() => {
      let previousFeature = featureAt(rows, -1);
      let feature = featureAt(rows, 0);
      let previousToken = tokenAt(rows, 0);
      let token = tokenAt(rows, 1);
      for (let d = 1; d <= evalDepth; d += 2) {
        const [first, second] = block(previousFeature, previousToken, feature, token);
        const drafted = [first, second].map(
          f => tf.argMax(tf.matMul(f, table, false, true), 1) as tf.Tensor1D,
        );
        drafted.forEach((tokens, half) => {
          if (d + half <= evalDepth) record(d + half, tokens.dataSync());
        });
        [previousFeature, feature, previousToken, token] = [first, second, drafted[0], drafted[1]];
      }
    });
  }
  const heldOut = scorer.result(test.length);
  const weights: FalconWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    innerSize,
    tensors: Object.fromEntries(FALCON_TENSORS.map(name => [name, loop.values[name]])) as Record<
      FalconTensor,
      Float32Array
    >,
    training: trainingRecord({
      dataset,
      options,
      trainPositions: train.length,
      heldOutPositions: test.length,
      settings: { unroll, glance, noise, tokenLossWeight },
      finalLoss: loop.losses.at(-1)?.loss,
      results: heldOutRecord(heldOut, evalDepth),
    }),
  };
  for (const variable of Object.values(variables)) variable.dispose();
  table.dispose();
  const { losses, positionsPerSecond } = loop;
  return { weights, heldOut, losses, positionsPerSecond };
}
