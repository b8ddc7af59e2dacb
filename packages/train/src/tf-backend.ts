// The @tensorflow/tfjs bundle, not tfjs-core alone: its Node build registers the gradients (tfjs-core's
// `register_all_gradients` is an ES module without file extensions that Node cannot import).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { InvalidArgumentError } from '@decodekit/core';

/** TensorFlow.js backends training runs on: the pure-JS `cpu` kernels or the `wasm` (XNNPACK) ones. */
export const TRAIN_BACKENDS = ['cpu', 'wasm'] as const;
export type TrainBackend = (typeof TRAIN_BACKENDS)[number];

/** Switches TensorFlow.js to `name` (idempotent). */
export async function useTrainBackend(name: TrainBackend): Promise<typeof tf> {
  if (!TRAIN_BACKENDS.includes(name)) {
    throw new InvalidArgumentError({
      argument: 'backend',
      message: `unknown training backend "${name}"; use ${TRAIN_BACKENDS.join(' or ')}.`,
    });
  }
  if (tf.getBackend() !== name) {
    const ready = await tf.setBackend(name);
    if (!ready)
      throw new InvalidArgumentError({
        argument: 'backend',
        message: `TensorFlow.js backend "${name}" failed to initialize.`,
      });
  }
  await tf.ready();
  return tf;
}

export { tf };
