import type { Dataset } from './dataset.js';
import { tf, useTrainBackend } from './tf-backend.js';
import {
  chainScorer,
  checkTrainingInputs,
  heldOutRecord,
  hiddenAt,
  type HeldOutChains,
  positions,
  splitSequences,
  tokensAt,
  trainingRecord,
} from './training-data.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';

/** Options of every feature-drafter training (EAGLE, FSPAD). */
export interface FeatureDrafterTrainingOptions extends LoopOptions {
  /**
   * Drafter steps unrolled in training, each fed the previous predicted feature (1 = EAGLE's teacher
   * forcing; more trains on the drafter's own features as EAGLE-3's training-time test does). Default 1.
   */
  unroll?: number;
  /** Weight of the token loss next to the feature regression (EAGLE and FSPAD: 0.1). */
  tokenLossWeight?: number;
  /** Half-width of the uniform noise added to input features (EAGLE adds noise to be robust to its own errors). Default 0.1. */
  noise?: number;
  /** Depth of the held-out chain-acceptance evaluation. Default 6. */
  evalDepth?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

/** A feature drafter's trainable network (TensorFlow.js), bound to the frozen LM head `table` [vocab, hidden]. */
export interface FeatureDrafterGraph {
  /** Trainable variables by the tensor names the weights file uses. */
  readonly variables: Record<string, tf.Variable>;
  /**
   * One drafter step for a batch: from features f_t [batch, hidden] and tokens x_{t+1} [batch], `head` gives
   * the logits of x_{t+2} through the LM head and `next` is the feature fed to the next step.
   */
  step(feature: tf.Tensor2D, tokens: tf.Tensor1D): { head: tf.Tensor2D; next: tf.Tensor2D };
}

/** Xavier-uniform [rows, cols] from a seed (deterministic initialization). */
export function xavier(rows: number, cols: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(seededUniform(rows * cols, Math.sqrt(6 / (rows + cols)), seed), [rows, cols]);
}

/** What `trainEagle`, `trainFspad`, ... return: the weights, held-out acceptance and the loss curve. */
export interface TrainedFeatureDrafter<TWeights> {
  weights: TWeights;
  /** Held-out top-1 of the first drafted token, and the mean accepted length of greedy chains. */
  heldOut: HeldOutChains;
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}

/** What `trainFeatureDrafter` returns. */
export interface FeatureDrafterTrainingResult {
  /** Final values of the variables, by name. */
  values: Record<string, Float32Array>;
  /** Held-out top-1 of the first drafted token, and the mean accepted length of greedy chains. */
  heldOut: HeldOutChains;
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
  /** The `training` record for the weights file. */
  training: Record<string, unknown>;
}

/**
 * EAGLE's training recipe for a feature drafter (Li et al., 2024; FSPAD keeps it): loss = SmoothL1(next, f)
 * + tokenLossWeight · CE(softmax(E f), E head) per unrolled step, target frozen, input features perturbed by
 * uniform noise, `unroll` steps fed the drafter's own features. Evaluates held-out greedy chains: from the
 * true f_t and x_{t+1}, `evalDepth` tokens drafted on the drafter's own features and tokens, counting the
 * prefix that matches the target's tokens.
 */
export async function trainFeatureDrafter(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: FeatureDrafterTrainingOptions,
  { kind, build }: { kind: string; build: (table: tf.Tensor2D) => FeatureDrafterGraph },
): Promise<FeatureDrafterTrainingResult> {
  const H = dataset.hiddenSize;
  const { unroll = 1, tokenLossWeight = 0.1, noise = 0.1, evalDepth = 6, holdout = 0.1 } = options;
  checkTrainingInputs(dataset, lmHead, vocabSize, { unroll });
  await useTrainBackend(options.backend);
  const split = splitSequences(dataset, holdout);
  const train = positions(dataset, split.train, unroll);
  const test = positions(dataset, split.test, evalDepth);
  const table = tf.tensor2d(lmHead, [vocabSize, H]);
  const { variables, step } = build(table);

  const loop = await runLoop({
    kind: `${kind}-${unroll}`,
    variables,
    sampleCount: train.length,
    options,
    lossOf: (indices, stepIndex) => {
      const rows = Array.from(indices, i => train[i]);
      let feature = tf.add(
        hiddenAt(dataset, rows, 0),
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
        const { head, next } = step(feature, tokensAt(dataset, rows, s));
        const target = hiddenAt(dataset, rows, s);
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

  const scorer = chainScorer(dataset);
  const chunk = 1024;
  for (let start = 0; start < test.length; start += chunk) {
    const rows = Array.from(test.subarray(start, Math.min(test.length, start + chunk)));
    const record = scorer.begin(rows);
    tf.tidy(() => {
      let feature = hiddenAt(dataset, rows, 0);
      let tokens = tokensAt(dataset, rows, 1);
      for (let d = 1; d <= evalDepth; d++) {
        const { head, next } = step(feature, tokens);
        feature = next;
        tokens = tf.argMax(tf.matMul(head, table, false, true), 1) as tf.Tensor1D;
        record(d, tokens.dataSync());
      }
    });
  }
  const heldOut = scorer.result(test.length);
  const training = trainingRecord({
    dataset,
    options,
    trainPositions: train.length,
    heldOutPositions: test.length,
    settings: { unroll, noise, tokenLossWeight },
    finalLoss: loop.losses.at(-1)?.loss,
    results: heldOutRecord(heldOut, evalDepth),
  });
  for (const variable of Object.values(variables)) variable.dispose();
  table.dispose();
  return {
    values: loop.values,
    heldOut,
    losses: loop.losses,
    positionsPerSecond: loop.positionsPerSecond,
    training,
  };
}
