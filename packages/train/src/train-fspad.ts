import {
  FSPAD_TENSORS,
  fspadShapes,
  type FspadTensor,
  type FspadWeights,
} from '@decodekit/strategy-fspad';
import type { Dataset } from './dataset.js';
import { tf } from './tf-backend.js';
import {
  trainFeatureDrafter,
  xavier,
  type FeatureDrafterTrainingOptions,
  type TrainedFeatureDrafter,
} from './train-feature-drafter.js';

/** Options of `trainFspad` (`tokenLossWeight`: FSPAD's p_w = 0.1 next to the regression's v_w = 1). */
export interface TrainFspadOptions extends FeatureDrafterTrainingOptions {
  /** Inner width of both gated MLPs. Default 2 × hidden. */
  innerSize?: number;
}

/**
 * FSPAD training (Luc4Gui/FSPAD `main_fspad.py`): loss = 1.0 · SmoothL1(regressed half, f) + 0.1 ·
 * CE(LMhead(f), LMhead(head half)), target frozen, input features perturbed by uniform noise, `unroll` steps
 * fed the drafter's own regressed features (`trainFeatureDrafter`). Returns the weights and the held-out
 * acceptance of greedy chains.
 */
export async function trainFspad(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainFspadOptions,
): Promise<TrainedFeatureDrafter<FspadWeights>> {
  const H = dataset.hiddenSize;
  const { innerSize = 2 * H } = options;
  const result = await trainFeatureDrafter(dataset, lmHead, vocabSize, options, {
    kind: `fspad-${innerSize}`,
    build: table => {
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
      return {
        variables,
        // One drafter step: the LM-head half and the regressed feature.
        step: (feature, tokens) => {
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
            linear(
              tf.mul(silu(linear(n, 'mlp.gate')), linear(n, 'mlp.up')) as tf.Tensor2D,
              'mlp.down',
            ),
          ) as tf.Tensor2D;
          return { head: tf.slice(y, [0, 0], [-1, H]), next: tf.slice(y, [0, H], [-1, H]) };
        },
      };
    },
  });
  const weights: FspadWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    innerSize,
    tensors: Object.fromEntries(FSPAD_TENSORS.map(name => [name, result.values[name]])) as Record<
      FspadTensor,
      Float32Array
    >,
    training: result.training,
  };
  const { heldOut, losses, positionsPerSecond } = result;
  return { weights, heldOut, losses, positionsPerSecond };
}
