import { InvalidArgumentError } from '@decodekit/core';
import {
  EOW_ID,
  PAD_ID,
  canvasLength,
  charVocabSize,
  checkEtokConfig,
  etokCharset,
  etokWeightShapes,
  type EtokConfig,
  type EtokWeights,
} from '@decodekit/strategy-learn-your-tokens';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';

const MASKED = -1e9;
const LAYER_NORM_EPS = 1e-5;

/**
 * An eTok-style word-pooled model (Learn Your Tokens, Thawani et al., 2023) as TensorFlow.js variables: the
 * same operators, in the same order, as the ONNX graphs `buildEtokGraphs` (`@decodekit/models`) writes.
 */
export interface TfEtok {
  readonly config: EtokConfig;
  readonly variables: Record<string, tf.Variable>;
  /** Word vectors [words, dim] of character ids [words, maxChars] (int32, padded with 0). */
  encode(chars: tf.Tensor2D): tf.Tensor2D;
  /** Prefix vectors [batch, time, numPrefix, dim] of word vectors [batch, time, dim] (causal). */
  predict(wordVectors: tf.Tensor3D): tf.Tensor4D;
  /** Logits [rows, maxChars + 1, vocab] of prefix vectors [rows, numPrefix, dim] and character ids [rows, maxChars]. */
  decode(prefixes: tf.Tensor3D, chars: tf.Tensor2D): tf.Tensor3D;
  /** Current weights by tensor name. */
  weights(): Record<string, Float32Array>;
  dispose(): void;
}

/**
 * Builds the model's variables from `weights` (copied). Call after `useTrainBackend()`.
 * @param config the architecture
 * @param weights every tensor of `etokWeightShapes(config)`
 */
export function tfEtok(config: EtokConfig, weights: EtokWeights): TfEtok {
  checkEtokConfig(config);
  const { dim, heads, numPrefix, maxChars, maxWords } = config;
  const vocab = charVocabSize(config);
  const canvas = canvasLength(config);
  const headDim = dim / heads;
  const variables: Record<string, tf.Variable> = {};
  for (const [name, shape] of etokWeightShapes(config)) {
    const values = weights[name];
    const size = shape.reduce((a, b) => a * b, 1);
    if (!(values instanceof Float32Array) || values.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must hold ${size} float32 values [${shape.join(', ')}].`,
      });
    }
    variables[name] = tf.variable(tf.tensor(Float32Array.from(values), shape), true);
  }
  const v = (name: string) => variables[name];
  const causalOf = (time: number) => {
    const values = new Float32Array(time * time);
    for (let i = 0; i < time; i++) for (let j = i + 1; j < time; j++) values[i * time + j] = MASKED;
    return tf.keep(tf.tensor4d(values, [1, 1, time, time]));
  };
  const wordCausal = causalOf(maxWords);
  const canvasCausal = causalOf(canvas);
  const linear = (x: tf.Tensor, weight: tf.Tensor) => {
    const shape = x.shape;
    const flat = tf.reshape(x, [-1, shape[shape.length - 1]]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(flat, weight as tf.Tensor2D), [
      ...shape.slice(0, -1),
      weight.shape[1] as number,
    ]);
  };
  const layerNorm = (x: tf.Tensor, prefix: string) => {
    const mean = tf.mean(x, -1, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.mul(centered, centered), -1, true);
    const normed = tf.div(centered, tf.sqrt(tf.add(variance, LAYER_NORM_EPS)));
    return tf.add(tf.mul(normed, v(`${prefix}.gain`)), v(`${prefix}.bias`));
  };
  const block = (x: tf.Tensor3D, bias: tf.Tensor, prefix: string): tf.Tensor3D => {
    const [batch, time] = x.shape;
    const h = layerNorm(x, `${prefix}.ln1`);
    const project = (weight: string) =>
      tf.transpose(
        tf.reshape(linear(h, v(`${prefix}.${weight}`)), [batch, time, heads, headDim]),
        [0, 2, 1, 3],
      );
    const q = project('wq');
    const k = project('wk');
    const values = project('wv');
    const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)), bias);
    const attended = tf.transpose(tf.matMul(tf.softmax(scores), values), [0, 2, 1, 3]);
    const afterAttention = tf.add(
      x,
      linear(tf.reshape(attended, [batch, time, dim]), v(`${prefix}.wo`)),
    );
    const f = layerNorm(afterAttention, `${prefix}.ln2`);
    const hidden = tf.relu(tf.add(linear(f, v(`${prefix}.w1`)), v(`${prefix}.b1`)));
    return tf.add(
      afterAttention,
      tf.add(linear(hidden, v(`${prefix}.w2`)), v(`${prefix}.b2`)),
    ) as tf.Tensor3D;
  };
  // Embedding lookups as one-hot × table: the wasm backend has no gradient kernel for gather.
  const embed = (ids: tf.Tensor2D) => {
    const [rows, time] = ids.shape;
    const oneHot = tf.cast(
      tf.oneHot(tf.reshape(ids, [-1]) as tf.Tensor1D, vocab + numPrefix),
      'float32',
    ) as tf.Tensor2D;
    return tf.reshape(tf.matMul(oneHot, v('charEmbedding') as tf.Tensor2D), [rows, time, dim]);
  };
  const prefixIds = Int32Array.from({ length: numPrefix }, (_, j) => vocab + j);

  const encode = (chars: tf.Tensor2D): tf.Tensor2D => {
    const words = chars.shape[0];
    const ids = tf.concat(
      [
        tf.tile(tf.tensor2d(prefixIds, [1, numPrefix], 'int32'), [words, 1]),
        tf.cast(chars, 'int32'),
      ],
      1,
    ) as tf.Tensor2D;
    let x = tf.add(embed(ids), v('encoderPosition')) as tf.Tensor3D;
    const bias = tf.reshape(tf.mul(tf.cast(tf.equal(ids, PAD_ID), 'float32'), MASKED), [
      words,
      1,
      1,
      canvas,
    ]);
    for (let l = 0; l < config.encoderLayers; l++) x = block(x, bias, `encoder.${l}`);
    const normed = layerNorm(x, 'encoder.lnFinal');
    const slots = tf.reshape(tf.slice(normed, [0, 0, 0], [words, numPrefix, dim]), [
      words,
      numPrefix * dim,
    ]) as tf.Tensor2D;
    return tf.matMul(slots, v('pool') as tf.Tensor2D);
  };
  const predict = (wordVectors: tf.Tensor3D): tf.Tensor4D => {
    const [batch, time] = wordVectors.shape;
    if (time > maxWords) {
      throw new InvalidArgumentError({
        argument: 'wordVectors',
        message: `${time} words exceed the model's ${maxWords}-word context.`,
      });
    }
    let x = tf.add(wordVectors, tf.slice(v('wordPosition'), [0, 0], [time, dim])) as tf.Tensor3D;
    const bias = tf.slice(wordCausal, [0, 0, 0, 0], [1, 1, time, time]);
    for (let l = 0; l < config.wordLayers; l++) x = block(x, bias, `word.${l}`);
    return tf.reshape(linear(layerNorm(x, 'word.lnFinal'), v('unpool')), [
      batch,
      time,
      numPrefix,
      dim,
    ]);
  };
  const decode = (prefixes: tf.Tensor3D, chars: tf.Tensor2D): tf.Tensor3D => {
    const rows = prefixes.shape[0];
    let x = tf.add(
      tf.concat([prefixes, embed(tf.cast(chars, 'int32') as tf.Tensor2D)], 1),
      v('decoderPosition'),
    ) as tf.Tensor3D;
    for (let l = 0; l < config.decoderLayers; l++) x = block(x, canvasCausal, `decoder.${l}`);
    const normed = layerNorm(x, 'decoder.lnFinal');
    const slots = tf.slice(normed, [0, numPrefix - 1, 0], [rows, maxChars + 1, dim]);
    return linear(slots, v('head')) as tf.Tensor3D;
  };
  return {
    config,
    variables,
    encode,
    predict,
    decode,
    weights: () =>
      Object.fromEntries(
        Object.entries(variables).map(([name, variable]) => [
          name,
          Float32Array.from(variable.dataSync() as Float32Array),
        ]),
      ),
    dispose() {
      for (const variable of Object.values(variables)) variable.dispose();
      tf.dispose([wordCausal, canvasCausal]);
    },
  };
}

/**
 * Seeded initial weights (GPT-2's recipe, as eTok's `_init_weights`: matrices and embeddings N(0, 0.02)-like —
 * here uniform with the same standard deviation — LayerNorm gains 1, biases 0).
 */
export function initialEtokWeights(config: EtokConfig, seed: number): Record<string, Float32Array> {
  checkEtokConfig(config);
  const scale = 0.02 * Math.sqrt(3);
  return Object.fromEntries(
    etokWeightShapes(config).map(([name, shape], index) => {
      const size = shape.reduce((a, b) => a * b, 1);
      if (name.endsWith('.gain')) return [name, new Float32Array(size).fill(1)];
      if (name.endsWith('.bias') || /\.b[12]$/u.test(name)) return [name, new Float32Array(size)];
      return [name, seededUniform(size, scale, seed * 1_000_003 + index)];
    }),
  );
}

/**
 * Character ids of texts as word windows: each text's whitespace-separated words, after the start word (no
 * characters), padded with 0 to `maxChars`. [texts, maxWords, maxChars]
 * @throws InvalidArgumentError when a text has not exactly `maxWords − 1` words or a word is too long.
 */
export function etokWindows(config: EtokConfig, texts: readonly string[]): Int32Array {
  const { maxWords, maxChars } = config;
  const charset = etokCharset(config);
  const out = new Int32Array(texts.length * maxWords * maxChars);
  texts.forEach((text, s) => {
    const words = text.split(' ');
    if (words.length !== maxWords - 1 || words.some(word => word.length === 0)) {
      throw new InvalidArgumentError({
        argument: 'texts',
        message: `text ${s} must be ${maxWords - 1} words separated by single spaces.`,
      });
    }
    words.forEach((word, w) => {
      const ids = charset.encode(word);
      if (ids.length > maxChars) {
        throw new InvalidArgumentError({
          argument: 'texts',
          message: `text ${s} has the word "${word}", longer than maxChars = ${maxChars}.`,
        });
      }
      out.set(ids, (s * maxWords + w + 1) * maxChars);
    });
  });
  return out;
}

/** Targets [rows, maxChars + 1] (characters, then end-of-word) and their 0/1 mask of word windows' words 1…. */
function decoderTargets(
  windows: Int32Array,
  indices: ArrayLike<number>,
  config: EtokConfig,
): { chars: Int32Array; targets: Int32Array; mask: Float32Array } {
  const { maxWords, maxChars } = config;
  const rows = indices.length * (maxWords - 1);
  const chars = new Int32Array(rows * maxChars);
  const targets = new Int32Array(rows * (maxChars + 1));
  const mask = new Float32Array(rows * (maxChars + 1));
  let row = 0;
  for (const s of Array.from(indices)) {
    for (let w = 1; w < maxWords; w++, row++) {
      const word = windows.subarray(
        (s * maxWords + w) * maxChars,
        (s * maxWords + w + 1) * maxChars,
      );
      chars.set(word, row * maxChars);
      let length = 0;
      while (length < maxChars && word[length] !== PAD_ID) length++;
      for (let j = 0; j <= length; j++) {
        targets[row * (maxChars + 1) + j] = j < length ? word[j] : EOW_ID;
        mask[row * (maxChars + 1) + j] = 1;
      }
    }
  }
  return { chars, targets, mask };
}

/** Options of {@link trainEtok}. */
export interface TrainEtokOptions extends LoopOptions {
  /** Initial weights (default: {@link initialEtokWeights} of the seed). */
  initialWeights?: EtokWeights;
}

/**
 * Trains an eTok model end to end on word windows (eTok's recipe: all words of a window in parallel; the
 * loss is the character cross-entropy of every word's characters and end-of-word, predicted by the character
 * decoder from the previous word's word-transformer output). Adam through `runLoop` (seeded, resumable).
 * @param config the architecture
 * @param texts training windows: `maxWords − 1` words each, separated by single spaces
 * @param options loop options
 */
export async function trainEtok(
  config: EtokConfig,
  texts: readonly string[],
  options: TrainEtokOptions,
): Promise<{
  weights: Record<string, Float32Array>;
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}> {
  const windows = etokWindows(config, texts);
  await useTrainBackend(options.backend);
  const model = tfEtok(config, options.initialWeights ?? initialEtokWeights(config, options.seed));
  const { maxWords, maxChars, numPrefix, dim } = config;
  const vocab = charVocabSize(config);
  try {
    const loop = await runLoop({
      kind: `etok-${dim}-${config.encoderLayers}.${config.wordLayers}.${config.decoderLayers}`,
      variables: model.variables,
      sampleCount: texts.length,
      options,
      lossOf: indices => {
        const B = indices.length;
        const chars = new Int32Array(B * maxWords * maxChars);
        Array.from(indices).forEach((s, b) =>
          chars.set(
            windows.subarray(s * maxWords * maxChars, (s + 1) * maxWords * maxChars),
            b * maxWords * maxChars,
          ),
        );
        const vectors = model.encode(tf.tensor2d(chars, [B * maxWords, maxChars], 'int32'));
        const prefixes = model.predict(tf.reshape(vectors, [B, maxWords, dim]) as tf.Tensor3D);
        const previous = tf.reshape(
          tf.slice(prefixes, [0, 0, 0, 0], [B, maxWords - 1, numPrefix, dim]),
          [B * (maxWords - 1), numPrefix, dim],
        ) as tf.Tensor3D;
        const target = decoderTargets(windows, indices, config);
        const rows = B * (maxWords - 1);
        const logits = model.decode(previous, tf.tensor2d(target.chars, [rows, maxChars], 'int32'));
        return tf.losses.softmaxCrossEntropy(
          tf.oneHot(tf.tensor1d(target.targets, 'int32'), vocab),
          tf.reshape(logits, [rows * (maxChars + 1), vocab]),
          tf.tensor1d(target.mask),
        ) as tf.Scalar;
      },
    });
    return {
      weights: loop.values,
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Greedy character decoding of many words at once: from prefix vectors [rows, numPrefix, dim], spells each
 * row's word until end-of-word (or `maxChars` characters), all rows in parallel (one decoder forward per
 * character position). Padding is never predicted. Returns each row's character ids. Inference only.
 */
export function etokGreedySpell(model: TfEtok, prefixes: tf.Tensor3D): number[][] {
  const { maxChars } = model.config;
  const vocab = charVocabSize(model.config);
  const rows = prefixes.shape[0];
  const chars = new Int32Array(rows * maxChars);
  const done = new Uint8Array(rows);
  const lengths = new Int32Array(rows);
  for (let j = 0; j <= maxChars && done.some(flag => flag === 0); j++) {
    const logits = tf.tidy(
      () =>
        model
          .decode(prefixes, tf.tensor2d(chars, [rows, maxChars], 'int32'))
          .dataSync() as Float32Array,
    );
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      if (j === maxChars) {
        done[r] = 1;
        continue;
      }
      const offset = (r * (maxChars + 1) + j) * vocab;
      let best = PAD_ID + 1;
      for (let id = best + 1; id < vocab; id++)
        if (logits[offset + id] > logits[offset + best]) best = id;
      if (best === EOW_ID) done[r] = 1;
      else {
        chars[r * maxChars + j] = best;
        lengths[r] = j + 1;
      }
    }
  }
  return Array.from({ length: rows }, (_, r) =>
    Array.from(chars.subarray(r * maxChars, r * maxChars + lengths[r])),
  );
}

/**
 * Next-word accuracy of an eTok model on word windows: for every word of every window, the word spelled
 * greedily from the words before it (teacher-forced at the word level) equals the true word, end-of-word
 * included. Inference only; call after `useTrainBackend()`.
 * @returns correct and total word counts
 */
export function etokNextWordAccuracy(
  config: EtokConfig,
  weights: EtokWeights,
  texts: readonly string[],
  batchSize = 16,
): { correct: number; total: number } {
  const windows = etokWindows(config, texts);
  const { maxWords, maxChars, numPrefix, dim } = config;
  const model = tfEtok(config, weights);
  let correct = 0;
  let total = 0;
  try {
    for (let start = 0; start < texts.length; start += batchSize) {
      const B = Math.min(batchSize, texts.length - start);
      const slice = windows.subarray(
        start * maxWords * maxChars,
        (start + B) * maxWords * maxChars,
      );
      const prefixes = tf.tidy(() => {
        const vectors = model.encode(tf.tensor2d(slice, [B * maxWords, maxChars], 'int32'));
        const predicted = model.predict(tf.reshape(vectors, [B, maxWords, dim]) as tf.Tensor3D);
        return tf.reshape(tf.slice(predicted, [0, 0, 0, 0], [B, maxWords - 1, numPrefix, dim]), [
          B * (maxWords - 1),
          numPrefix,
          dim,
        ]) as tf.Tensor3D;
      });
      const spelled = etokGreedySpell(model, prefixes);
      prefixes.dispose();
      spelled.forEach((ids, row) => {
        const b = Math.floor(row / (maxWords - 1));
        const w = (row % (maxWords - 1)) + 1;
        const truth = slice.subarray(
          (b * maxWords + w) * maxChars,
          (b * maxWords + w + 1) * maxChars,
        );
        let length = 0;
        while (length < maxChars && truth[length] !== PAD_ID) length++;
        total += 1;
        if (ids.length === length && ids.every((id, j) => id === truth[j])) correct += 1;
      });
    }
  } finally {
    model.dispose();
  }
  return { correct, total };
}

/**
 * Greedy generation with the TensorFlow.js model, the reference the exported graphs are tested against:
 * the start word and the prompt's words, then per new word one word-transformer pass over the last
 * `maxWords` words and greedy spelling to end-of-word; an empty word ends the text. Inference only.
 * @returns the generated words
 */
export function etokGenerateTf(
  config: EtokConfig,
  weights: EtokWeights,
  prompt: string,
  maxNewWords: number,
): string[] {
  const { maxWords, maxChars, dim, numPrefix } = config;
  const charset = etokCharset(config);
  const model = tfEtok(config, weights);
  const words: number[][] = [
    [],
    ...prompt
      .split(/\s+/u)
      .filter(Boolean)
      .map(w => charset.encode(w)),
  ];
  const out: string[] = [];
  try {
    while (out.length < maxNewWords) {
      const window = words.slice(-maxWords);
      const chars = new Int32Array(window.length * maxChars);
      window.forEach((ids, w) => chars.set(ids, w * maxChars));
      const prefix = tf.tidy(() => {
        const vectors = model.encode(tf.tensor2d(chars, [window.length, maxChars], 'int32'));
        const predicted = model.predict(
          tf.reshape(vectors, [1, window.length, dim]) as tf.Tensor3D,
        );
        return tf.reshape(
          tf.slice(predicted, [0, window.length - 1, 0, 0], [1, 1, numPrefix, dim]),
          [1, numPrefix, dim],
        ) as tf.Tensor3D;
      });
      const [ids] = etokGreedySpell(model, prefix);
      prefix.dispose();
      if (ids.length === 0) break;
      words.push(ids);
      out.push(charset.decode(ids));
    }
  } finally {
    model.dispose();
  }
  return out;
}
