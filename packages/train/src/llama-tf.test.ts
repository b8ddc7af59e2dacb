import { describe, expect, it } from 'vitest';
import {
  tfLlama,
  type TfLlamaConfig,
  type TfLlamaLayout,
  type TfLlamaWeights,
} from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { seededUniform } from './training-loop.js';

// A tiny Llama (two layers, grouped-query heads) with seeded weights: the gradients of the custom 2-D products,
// the one-hot lookup and the pair-swap RoPE must be those of the function the forward pass computes.
const config: TfLlamaConfig = {
  vocabSize: 11,
  dim: 8,
  hiddenDim: 12,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  contextLength: 16,
  tiedEmbeddings: false,
};
const weights = (): TfLlamaWeights => {
  let seed = 1;
  const values = (length: number) => seededUniform(length, 0.5, seed++);
  const { dim: d, hiddenDim: h, numLayers: L, vocabSize: V } = config;
  const kv = d / 2;
  return {
    tokenEmbedding: values(V * d),
    rmsAtt: values(L * d).map(x => 1 + x),
    wq: values(L * d * d),
    wk: values(L * kv * d),
    wv: values(L * kv * d),
    wo: values(L * d * d),
    rmsFfn: values(L * d).map(x => 1 + x),
    w1: values(L * h * d),
    w2: values(L * d * h),
    w3: values(L * h * d),
    rmsFinal: values(d).map(x => 1 + x),
    wcls: values(V * d),
  };
};

describe('tfLlama gradients', () => {
  it.each([
    { name: 'a causal chain', layout: undefined },
    {
      name: 'a tree layout',
      layout: { parents: Int32Array.from([-1, 0, 0, 1, 2, -1, 0, 1, 1, 3]) } as TfLlamaLayout,
    },
  ])('match central finite differences on $name', async ({ layout }) => {
    await useTrainBackend('wasm');
    const model = tfLlama(config, weights());
    const tokens = tf.tensor2d(Int32Array.from([1, 5, 9, 2, 7, 3, 3, 10, 0, 4]), [2, 5], 'int32');
    const probe = tf.tensor(seededUniform(2 * 5 * config.vocabSize, 1, 99), [
      2,
      5,
      config.vocabSize,
    ]);
    const loss = () => tf.sum(tf.mul(model.logits(tokens, layout), probe)) as tf.Scalar;
    const { grads } = tf.variableGrads(loss);
    let checked = 0;
    for (const [name, variable] of Object.entries(model.variables)) {
      const gradient = grads[variable.name].dataSync();
      const values = variable.dataSync() as Float32Array;
      for (const at of [0, Math.floor(values.length / 2), values.length - 1]) {
        const nudged = (delta: number) => {
          const copy = Float32Array.from(values);
          copy[at] += delta;
          variable.assign(tf.tensor(copy, variable.shape));
          return tf.tidy(() => loss().dataSync()[0]);
        };
        const eps = 1e-3;
        const numeric = (nudged(eps) - nudged(-eps)) / (2 * eps);
        variable.assign(tf.tensor(values, variable.shape));
        expect(Math.abs(numeric - gradient[at]), `${name}[${at}]`).toBeLessThan(
          1e-2 * Math.max(1, Math.abs(numeric)),
        );
        checked++;
      }
    }
    expect(checked).toBe(3 * (1 + 9 * config.numLayers + 2));
    tf.dispose([tokens, probe, ...Object.values(grads)]);
    model.dispose();
  });
});
