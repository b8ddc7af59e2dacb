import type { EagleWeights } from '@decodekit/strategy-eagle';
import type { Dataset } from './dataset.js';
import { tf } from './tf-backend.js';
import {
  trainFeatureDrafter,
  xavier,
  type FeatureDrafterTrainingOptions,
  type TrainedFeatureDrafter,
} from './train-feature-drafter.js';

/** Options of `trainEagle`. */
export interface TrainEagleOptions extends FeatureDrafterTrainingOptions {
  /** Inner width of the MLP block. Default 4 × hidden. */
  innerSize?: number;
}

/**
 * EAGLE training (Li et al., 2024): the drafter maps (embedding of x_{t+1}, feature f_t) to f_{t+1}; loss =
 * SmoothL1(f̂, f) + 0.1 · CE(LMhead(f), LMhead(f̂)) with the target's LM head frozen, input features
 * perturbed by uniform noise (`trainFeatureDrafter`). Returns the weights and the held-out acceptance of
 * greedy chains: the mean number of drafted tokens that match the target's greedy continuation, out of
 * `evalDepth`.
 */
export async function trainEagle(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainEagleOptions,
): Promise<TrainedFeatureDrafter<EagleWeights>> {
  const H = dataset.hiddenSize;
  const { innerSize = 4 * H } = options;
  const result = await trainFeatureDrafter(dataset, lmHead, vocabSize, options, {
    kind: `eagle-${innerSize}`,
    build: table => {
      const variables: Record<string, tf.Variable> = {
        'fc.weight': tf.variable(xavier(H, 2 * H, options.seed), true, 'fc.weight'),
        'fc.bias': tf.variable(tf.zeros([H]), true, 'fc.bias'),
        'up.weight': tf.variable(xavier(innerSize, H, options.seed + 1), true, 'up.weight'),
        'up.bias': tf.variable(tf.zeros([innerSize]), true, 'up.bias'),
        // Zero: the block starts as the identity around fc, as residual blocks are usually initialized.
        'down.weight': tf.variable(tf.zeros([H, innerSize]), true, 'down.weight'),
        'down.bias': tf.variable(tf.zeros([H]), true, 'down.bias'),
      };
      return {
        variables,
        step: (feature, tokens) => {
          const input = tf.concat([tf.gather(table, tokens), feature], 1);
          const z = tf.add(
            tf.matMul(input, variables['fc.weight'], false, true),
            variables['fc.bias'],
          );
          const u = tf.add(tf.matMul(z, variables['up.weight'], false, true), variables['up.bias']);
          const block = tf.add(
            tf.matMul(tf.mul(u, tf.sigmoid(u)), variables['down.weight'], false, true),
            variables['down.bias'],
          );
          const predicted = tf.add(z, block) as tf.Tensor2D;
          return { head: predicted, next: predicted };
        },
      };
    },
  });
  const { values } = result;
  const weights: EagleWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    innerSize,
    fc: { weight: values['fc.weight'], bias: values['fc.bias'] },
    up: { weight: values['up.weight'], bias: values['up.bias'] },
    down: { weight: values['down.weight'], bias: values['down.bias'] },
    training: result.training,
  };
  const { heldOut, losses, positionsPerSecond } = result;
  return { weights, heldOut, losses, positionsPerSecond };
}
