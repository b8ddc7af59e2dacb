import { buildSparseTree, type MedusaWeights } from '@decodekit/strategy-medusa';
import type { Dataset } from './dataset.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { checkTrainingInputs, positions, splitSequences, trainingRecord } from './training-data.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';

/** Options of `trainMedusa`. */
export interface TrainMedusaOptions extends LoopOptions {
  /** Heads (head i predicts the token i + 2 after the position). Default 4. */
  heads?: number;
  /** Nodes of the sparse tree built from held-out accuracy. Default 24. */
  treeSize?: number;
  /** Candidates per head measured for the tree. Default 8. */
  topK?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

/**
 * Medusa-1 training (Cai et al., 2024): the target is frozen (its hidden states are data); head k gets
 * cross-entropy on the token k + 1 positions ahead of the next token, weighted 0.8^k as in the paper. Each
 * head's residual weight starts at zero and its LM head at the target's, so training starts from "repeat
 * the target's next-token guess". Returns the weights with the sparse tree built from held-out top-k accuracy.
 */
export async function trainMedusa(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainMedusaOptions,
): Promise<{
  weights: MedusaWeights;
  accuracy: number[][];
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}> {
  const { heads = 4, treeSize = 24, topK = 8, holdout = 0.1 } = options;
  const H = dataset.hiddenSize;
  checkTrainingInputs(dataset, lmHead, vocabSize, { heads });
  await useTrainBackend(options.backend);
  const split = splitSequences(dataset, holdout);
  const train = positions(dataset, split.train, heads);
  const test = positions(dataset, split.test, heads);
  const variables: Record<string, tf.Variable> = {};
  for (let k = 0; k < heads; k++) {
    variables[`head${k}.weight`] = tf.variable(tf.zeros([H, H]), true, `head${k}.weight`);
    variables[`head${k}.bias`] = tf.variable(
      tf.tensor1d(seededUniform(H, 1e-3, options.seed + k)),
      true,
      `head${k}.bias`,
    );
    variables[`head${k}.lmHead`] = tf.variable(
      tf.tensor2d(lmHead, [vocabSize, H]),
      true,
      `head${k}.lmHead`,
    );
  }
  const headLogits = (hidden: tf.Tensor2D, k: number) => {
    const z = tf.add(
      tf.matMul(hidden, variables[`head${k}.weight`], false, true),
      variables[`head${k}.bias`],
    );
    return tf.matMul(
      tf.add(hidden, tf.mul(z, tf.sigmoid(z))),
      variables[`head${k}.lmHead`],
      false,
      true,
    ) as tf.Tensor2D;
  };
  const batchOf = (rows: ArrayLike<number>) => {
    const hidden = new Float32Array(rows.length * H);
    const labels = Array.from({ length: heads }, () => new Int32Array(rows.length));
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      hidden.set(dataset.hidden.subarray(r * H, (r + 1) * H), i * H);
      for (let k = 0; k < heads; k++) labels[k][i] = dataset.tokens[r + 2 + k];
    }
    return { hidden: tf.tensor2d(hidden, [rows.length, H]), labels };
  };
  const decay = Array.from({ length: heads }, (_, k) => 0.8 ** k);
  const decaySum = decay.reduce((a, b) => a + b, 0);
  const loop = await runLoop({
    kind: `medusa-${heads}`,
    variables,
    sampleCount: train.length,
    options,
    lossOf: indices => {
      const { hidden, labels } = batchOf(Array.from(indices, i => train[i]));
      let total = tf.scalar(0);
      for (let k = 0; k < heads; k++) {
        const loss = tf.losses.softmaxCrossEntropy(
          tf.oneHot(tf.tensor1d(labels[k], 'int32'), vocabSize),
          headLogits(hidden, k),
        );
        total = tf.add(total, tf.mul(loss, decay[k] / decaySum));
      }
      return total as tf.Scalar;
    },
  });
  // Held-out top-k accuracy per head: accuracy[k][rank] = P(rank-th candidate of head k is the token).
  const accuracy = Array.from({ length: heads }, () => Array.from({ length: topK }, () => 0));
  const chunk = 1024;
  for (let start = 0; start < test.length; start += chunk) {
    const rows = test.subarray(start, Math.min(test.length, start + chunk));
    tf.tidy(() => {
      const { hidden, labels } = batchOf(rows);
      for (let k = 0; k < heads; k++) {
        const { indices } = tf.topk(headLogits(hidden, k), topK);
        const top = indices.dataSync();
        for (let i = 0; i < rows.length; i++) {
          for (let rank = 0; rank < topK; rank++)
            if (top[i * topK + rank] === labels[k][i]) accuracy[k][rank]++;
        }
      }
    });
  }
  for (const row of accuracy)
    for (let rank = 0; rank < topK; rank++) row[rank] /= Math.max(1, test.length);
  const tree = buildSparseTree(accuracy, treeSize);
  const weights: MedusaWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    tree,
    heads: Array.from({ length: heads }, (_, k) => ({
      weight: loop.values[`head${k}.weight`],
      bias: loop.values[`head${k}.bias`],
      lmHead: loop.values[`head${k}.lmHead`],
    })),
    training: trainingRecord({
      dataset,
      options,
      trainPositions: train.length,
      heldOutPositions: test.length,
      settings: {},
      finalLoss: loop.losses.at(-1)?.loss,
      results: {
        heldOutTopKAccuracy: accuracy.map(row => row.map(value => Number(value.toFixed(4)))),
      },
    }),
  };
  for (const variable of Object.values(variables)) variable.dispose();
  return { weights, accuracy, losses: loop.losses, positionsPerSecond: loop.positionsPerSecond };
}
