import { existsSync, readFileSync } from 'node:fs';
import { decodeFloats } from '@decodekit/core';
import { buildEtokGraphs } from '@decodekit/models';
import {
  charVocabSize,
  etokWeightShapes,
  learnYourTokens,
  onnxEtokModel,
  parseEtokConfig,
  type EtokConfig,
} from '@decodekit/strategy-learn-your-tokens';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { tf, useTrainBackend } from './tf-backend.js';
import {
  etokGenerateTf,
  etokNextWordAccuracy,
  initialEtokWeights,
  tfEtok,
  trainEtok,
} from './train-etok.js';
import { seededUniform } from './training-loop.js';

const tiny: EtokConfig = {
  dim: 16,
  heads: 2,
  ffn: 24,
  encoderLayers: 1,
  wordLayers: 2,
  decoderLayers: 1,
  numPrefix: 2,
  maxChars: 6,
  maxWords: 5,
  chars: 'abcdefgh.',
};

/** Random weights large enough that every part's output depends on its inputs. */
const randomWeights = (config: EtokConfig, seed: number) =>
  Object.fromEntries(
    etokWeightShapes(config).map(([name, shape], index) => [
      name,
      seededUniform(
        shape.reduce((a, b) => a * b, 1),
        0.6,
        seed + index,
      ),
    ]),
  );

const maxDifference = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('eTok: the exported graphs compute what the TensorFlow.js model computes', () => {
  it('each part matches to 1e-4, and greedy generation is identical (past the word context)', async () => {
    await useTrainBackend('cpu');
    const weights = randomWeights(tiny, 11);
    const model = await onnxEtokModel({
      ort,
      graphs: buildEtokGraphs(tiny, weights),
      config: tiny,
    });
    const tfModel = tfEtok(tiny, weights);
    try {
      const vocab = charVocabSize(tiny);
      const chars = Int32Array.from([3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11, 10, 9, 8, 7, 6]);
      const words = chars.length / tiny.maxChars;
      const vectors = await model.encodeWords(chars, words);
      const tfVectors = tf.tidy(
        () =>
          tfModel
            .encode(tf.tensor2d(chars, [words, tiny.maxChars], 'int32'))
            .dataSync() as Float32Array,
      );
      expect(maxDifference(vectors, tfVectors)).toBeLessThan(1e-4);
      // The empty (start) word and a padded word give different vectors: padding is masked, not ignored.
      expect(maxDifference(vectors.subarray(0, 16), vectors.subarray(16, 32))).toBeGreaterThan(
        1e-3,
      );

      const prefixes = await model.predictWords(vectors, words);
      const tfPrefixes = tf.tidy(
        () =>
          tfModel.predict(tf.tensor3d(tfVectors, [1, words, tiny.dim])).dataSync() as Float32Array,
      );
      expect(maxDifference(prefixes, tfPrefixes)).toBeLessThan(1e-4);
      // Causal: the first word's output ignores the later words.
      const alone = await model.predictWords(vectors.subarray(0, tiny.dim), 1);
      expect(maxDifference(alone, prefixes.subarray(0, tiny.numPrefix * tiny.dim))).toBeLessThan(
        1e-5,
      );

      const rows = 2;
      const decodeChars = Int32Array.from([3, 4, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9]);
      const logits = await model.decodeChars(
        prefixes.subarray(0, rows * tiny.numPrefix * tiny.dim),
        decodeChars,
        rows,
      );
      const tfLogits = tf.tidy(
        () =>
          tfModel
            .decode(
              tf.tensor3d(tfPrefixes.slice(0, rows * tiny.numPrefix * tiny.dim), [
                rows,
                tiny.numPrefix,
                tiny.dim,
              ]),
              tf.tensor2d(decodeChars, [rows, tiny.maxChars], 'int32'),
            )
            .dataSync() as Float32Array,
      );
      expect(logits.length).toBe(rows * (tiny.maxChars + 1) * vocab);
      expect(maxDifference(logits, tfLogits)).toBeLessThan(1e-4);

      const decoder = learnYourTokens({ model });
      for (const prompt of ['', 'abc', 'h. gg a', 'ab cd ef gh ab cd ef']) {
        const result = await decoder.generate(prompt, { maxNewWords: 9 });
        expect(result.words).toEqual(etokGenerateTf(tiny, weights, prompt, 9));
        expect(result.stats.wordSteps).toBe(
          result.words.length + (result.reason === 'empty-word' ? 1 : 0),
        );
      }
    } finally {
      tfModel.dispose();
      await model.dispose();
    }
  });

  it('training lowers the loss, and the trained model spells the training words back', async () => {
    await useTrainBackend('wasm');
    const texts = ['abc de fgh ab', 'de fgh ab abc', 'fgh ab abc de', 'ab abc de fgh'];
    const before = etokNextWordAccuracy(tiny, initialEtokWeights(tiny, 3), texts);
    const trained = await trainEtok(tiny, texts, {
      steps: 200,
      batchSize: 4,
      learningRate: 2e-2,
      seed: 3,
      backend: 'wasm',
      logEvery: 1,
    });
    const first = trained.losses[0].loss;
    const last = trained.losses.at(-1)?.loss ?? Number.NaN;
    expect(last).toBeLessThan(first / 4);
    const after = etokNextWordAccuracy(tiny, trained.weights, texts);
    expect(after.total).toBe(16);
    expect(before.correct).toBeLessThan(4);
    // Words after the first are determined by the previous word in this cyclic data.
    expect(after.correct).toBeGreaterThanOrEqual(12);
  });
});

const shipped = new URL('../../strategies/learn-your-tokens/weights/stories260K/', import.meta.url);
describe.runIf(existsSync(new URL('etok.json', shipped)))(
  'eTok: the shipped stories260K model',
  () => {
    it('its ONNX files are the export of its weights, and generate what the TensorFlow.js model generates', async () => {
      const file = JSON.parse(readFileSync(new URL('etok.json', shipped), 'utf8')) as {
        config: unknown;
        tensors: Record<string, string>;
      };
      const config = parseEtokConfig(file.config, 'etok.json');
      const weights = Object.fromEntries(
        Object.entries(file.tensors).map(([name, value]) => [name, decodeFloats(value)]),
      );
      const graphs = {
        charEncoder: new Uint8Array(readFileSync(new URL('char_encoder.onnx', shipped))),
        wordTransformer: new Uint8Array(readFileSync(new URL('word_transformer.onnx', shipped))),
        charDecoder: new Uint8Array(readFileSync(new URL('char_decoder.onnx', shipped))),
      };
      const built = buildEtokGraphs(config, weights);
      expect(Buffer.from(built.charEncoder).equals(Buffer.from(graphs.charEncoder))).toBe(true);
      expect(Buffer.from(built.wordTransformer).equals(Buffer.from(graphs.wordTransformer))).toBe(
        true,
      );
      expect(Buffer.from(built.charDecoder).equals(Buffer.from(graphs.charDecoder))).toBe(true);

      await useTrainBackend('cpu');
      const model = await onnxEtokModel({ ort, graphs, config });
      try {
        const decoder = learnYourTokens({ model });
        for (const prompt of [
          '',
          'Once upon a time,',
          'Lily and Tom went to the park.',
          'The cat',
        ]) {
          const { words } = await decoder.generate(prompt, { maxNewWords: 12 });
          expect(words).toEqual(etokGenerateTf(config, weights, prompt, 12));
        }
      } finally {
        await model.dispose();
      }
    });
  },
);
