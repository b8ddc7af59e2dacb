import { InvalidArgumentError, seededRandom } from '@decodekit/core';
import { type PpdWeights } from '@decodekit/strategy-ppd';
import { buildSparseTree } from '@decodekit/strategy-medusa';
import type { Dataset } from './dataset.js';
import {
  FrozenLlama,
  type LlamaShape,
  type LlamaTensorsSource,
  type LlamaCache,
} from './frozen-llama.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, seededUniform, type LoopOptions } from './training-loop.js';
import { splitSequences } from './training-data.js';

/** Initializations of the prompt embeddings (`TrainPpdOptions.init`). */
export const PPD_INITS = ['random', 'mean', 'tokens'] as const;
/**
 * 'random': U(-s, s) with s the RMS of the target's embedding table. 'mean': the table's mean row plus
 * U(-s/10, s/10) (the noise tells ensemble chains apart). 'tokens': rows of the table at seeded random
 * token ids (the paper initializes from the embeddings of a text, `PromptTuningInit.TEXT`).
 */
export type PpdInit = (typeof PPD_INITS)[number];

/** Options of `trainPpd`. */
export interface TrainPpdOptions extends LoopOptions {
  /** Prompt tokens [P1]..[Pk] ([Pi] predicts the token i + 1 after the next one). Default 3, as the paper. */
  promptTokens?: number;
  /**
   * Virtual tokens per prompt token m (the paper's ensemble prompt tokens, `--vt_attention_type ensemble`):
   * m chains of k embeddings, chain j attending to itself only; [Pi]'s logits are the mean of its m rows'.
   * Default 1.
   */
  virtualTokens?: number;
  /** Initialization of the prompt embeddings. Default 'random'. */
  init?: PpdInit;
  /**
   * Weight of prompt token [Pi]'s loss is decay^(i-1) (the paper's distillation trainer: 0.8). Default 1
   * (every prompt token weighs the same).
   */
  lossDecay?: number;
  /**
   * Cut points of each sequence trained per step, drawn at random (seeded by step); default all of them.
   * Ensemble prompt tokens multiply the rows per cut by m: drawing fewer cuts keeps a step's cost.
   */
  cutsPerSequence?: number;
  /** Nodes of the sparse tree built from held-out accuracy. Default 48. */
  treeSize?: number;
  /** Candidates per depth measured for the tree. Default 8. */
  topK?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

/** One sequence of the dataset with its frozen-target cache and teacher distribution. */
interface Prepared {
  tokens: Int32Array;
  cache: LlamaCache;
  /** Teacher next-token probabilities at every row. [length, vocab] */
  teacher: tf.Tensor2D;
  /** Teacher logits, kept for evaluation of depth 1. [length, vocab] */
  logits: tf.Tensor2D;
  /** Cut points t (prompt rows appended after token t): all whose k teacher rows exist. */
  cuts: Int32Array;
}

/**
 * Checks the options of {@link trainPpd} that do not depend on the data, so a caller can reject them before it
 * generates or reads a dataset.
 * @throws InvalidArgumentError naming the option and what it accepts.
 */
export function checkPpdOptions(
  options: Pick<
    TrainPpdOptions,
    'promptTokens' | 'virtualTokens' | 'init' | 'lossDecay' | 'cutsPerSequence'
  >,
): void {
  const {
    promptTokens = 3,
    virtualTokens = 1,
    init = 'random',
    lossDecay = 1,
    cutsPerSequence,
  } = options;
  if (!Number.isInteger(promptTokens) || promptTokens < 1)
    throw new InvalidArgumentError({
      argument: 'promptTokens',
      message: `must be a positive integer, got ${promptTokens}.`,
    });
  if (!Number.isInteger(virtualTokens) || virtualTokens < 1)
    throw new InvalidArgumentError({
      argument: 'virtualTokens',
      message: `must be a positive integer (virtual tokens per prompt token), got ${virtualTokens}.`,
    });
  if (!PPD_INITS.includes(init))
    throw new InvalidArgumentError({
      argument: 'init',
      message: `must be one of ${PPD_INITS.join(', ')}, got ${JSON.stringify(init)}.`,
    });
  if (cutsPerSequence !== undefined && !(Number.isInteger(cutsPerSequence) && cutsPerSequence > 0))
    throw new InvalidArgumentError({
      argument: 'cutsPerSequence',
      message: `must be a positive integer (cut points per sequence and step), got ${cutsPerSequence}.`,
    });
  if (!(lossDecay > 0 && lossDecay <= 1))
    throw new InvalidArgumentError({
      argument: 'lossDecay',
      message: `must be in (0, 1] (the paper uses 0.8), got ${lossDecay}.`,
    });
}

/**
 * PPD training (Chen et al., 2024, https://arxiv.org/abs/2405.18628): the target is frozen and only the k
 * prompt-token input embeddings learn. Appended after token t of a target-generated sequence, [Pi] sits at
 * position t + i and is distilled (soft cross-entropy, lr 1e-2 in the paper) towards the target's own
 * distribution at row t + i, the token t + i + 1, which the target predicts having seen the real tokens up to
 * t + i. Every cut point of a sequence trains at once: the cut groups attend to the cached prefix through a
 * mask. Returns the weights with the sparse tree built from held-out top-k accuracy per depth (depth 1: the
 * target's own next-token logits; depth i + 1: [Pi]) on the greedy part of the sequences.
 */
export async function trainPpd(
  dataset: Dataset,
  target: { shape: LlamaShape; weights: LlamaTensorsSource },
  options: TrainPpdOptions,
): Promise<{
  weights: PpdWeights;
  accuracy: number[][];
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
}> {
  const {
    promptTokens = 3,
    virtualTokens = 1,
    init = 'random',
    lossDecay = 1,
    cutsPerSequence,
    treeSize = 48,
    topK = 8,
    holdout = 0.1,
  } = options;
  const { vocabSize, dim } = target.shape;
  checkPpdOptions(options);
  if (dataset.hiddenSize !== dim)
    throw new InvalidArgumentError({
      argument: 'dataset',
      message: `was generated by a model of hidden size ${dataset.hiddenSize}, but the checkpoint has dim ${dim}; pass the checkpoint of ${dataset.model}.`,
    });
  await useTrainBackend(options.backend);
  const llama = new FrozenLlama(target.shape, target.weights);
  const split = splitSequences(dataset, holdout);
  const prepared = new Map<number, Prepared>();
  // Computed outside the training tape (the target is constant): its cache and teacher per sequence.
  const prepare = (index: number): Prepared => {
    let entry = prepared.get(index);
    if (!entry) {
      const tokens = dataset.tokens.subarray(dataset.offsets[index], dataset.offsets[index + 1]);
      const { logits, teacher, keys, values } = tf.tidy(() => {
        const forward = llama.forward(tokens);
        return {
          logits: forward.logits,
          teacher: tf.softmax(forward.logits) as tf.Tensor2D,
          keys: forward.cache.keys,
          values: forward.cache.values,
        };
      });
      entry = {
        tokens,
        cache: { keys, values, length: tokens.length },
        teacher,
        logits,
        cuts: Int32Array.from({ length: Math.max(0, tokens.length - promptTokens) }, (_, t) => t),
      };
      prepared.set(index, entry);
    }
    return entry;
  };
  const trainSequences = Array.from(
    { length: split.train[1] - split.train[0] },
    (_, i) => split.train[0] + i,
  ).filter(index => dataset.offsets[index + 1] - dataset.offsets[index] > promptTokens);
  for (const index of trainSequences) prepare(index);
  const rowCount = promptTokens * virtualTokens;
  const prompts = tf.variable(
    tf.tensor2d(initialPrompts(target.weights.tokenEmbedding, dim, rowCount, init, options.seed), [
      rowCount,
      dim,
    ]),
    true,
    'prompts',
  );
  const rowOffsets = tf.tensor2d(
    Int32Array.from({ length: promptTokens }, (_, i) => i + 1),
    [1, promptTokens],
    'int32',
  );
  // Per prompt token loss weights decay^(i-1), normalized to sum to 1 over the k prompt tokens.
  const decayWeights = Float32Array.from({ length: promptTokens }, (_, i) => lossDecay ** i);
  const decaySum = decayWeights.reduce((sum, value) => sum + value, 0);
  const lossWeights = tf.tensor2d(
    decayWeights.map(value => (value * promptTokens) / decaySum),
    [1, promptTokens],
  );
  /** [P1]..[Pk]'s logits after every cut: the mean over each prompt token's virtual tokens. */
  const promptLogits = (cache: LlamaCache, cuts: Int32Array): tf.Tensor3D => {
    const logits = llama.appendedLogits(cache, cuts, prompts, virtualTokens); // [cuts, k · m, vocab]
    return virtualTokens === 1
      ? logits
      : tf.mean(tf.reshape(logits, [cuts.length, promptTokens, virtualTokens, vocabSize]), 2);
  };
  const lossOfSequence = (entry: Prepared, cuts: Int32Array): tf.Scalar => {
    const student = promptLogits(entry.cache, cuts); // [cuts, k, vocab]
    const rows = tf.add(tf.tensor2d(cuts, [cuts.length, 1], 'int32'), rowOffsets);
    const teacher = tf.gather(entry.teacher, rows); // [cuts, k, vocab]
    return tf.losses.softmaxCrossEntropy(
      tf.reshape(teacher, [-1, vocabSize]),
      tf.reshape(student, [-1, vocabSize]),
      lossDecay === 1 ? undefined : tf.reshape(tf.tile(lossWeights, [cuts.length, 1]), [-1]),
    ) as tf.Scalar;
  };
  /** The cuts of a sequence trained at `step`: all, or `cutsPerSequence` drawn without replacement. */
  const cutsAt = (entry: Prepared, index: number, step: number): Int32Array => {
    if (cutsPerSequence === undefined || cutsPerSequence >= entry.cuts.length) return entry.cuts;
    const random = seededRandom(options.seed + 104_729 * (step + 1) + index);
    const order = Array.from(entry.cuts);
    for (let k = 0; k < cutsPerSequence; k++) {
      const j = k + Math.floor(random.next() * (order.length - k));
      [order[k], order[j]] = [order[j], order[k]];
    }
    return Int32Array.from(order.slice(0, cutsPerSequence)).sort();
  };
  let loop: Awaited<ReturnType<typeof runLoop>>;
  try {
    loop = await runLoop({
      kind: `ppd-${promptTokens}`,
      variables: { prompts },
      sampleCount: trainSequences.length,
      options,
      lossOf: (indices, step) => {
        const losses = Array.from(indices, i => {
          const entry = prepare(trainSequences[i]);
          return lossOfSequence(entry, cutsAt(entry, trainSequences[i], step));
        });
        return tf.div(tf.addN(losses), losses.length) as tf.Scalar;
      },
    });
    // Held-out top-k accuracy per depth on the greedy continuation (what decoding at T = 0 meets).
    const accuracy = Array.from({ length: promptTokens + 1 }, () =>
      Array.from({ length: topK }, () => 0),
    );
    let evaluated = 0;
    for (let index = split.test[0]; index < split.test[1]; index++) {
      const length = dataset.offsets[index + 1] - dataset.offsets[index];
      const first = Math.max(0, dataset.options.sampledPrefix);
      const last = length - 2 - promptTokens;
      if (last < first) continue;
      const entry = prepare(index);
      const cuts = Int32Array.from({ length: last - first + 1 }, (_, i) => first + i);
      tf.tidy(() => {
        const own = tf.topk(tf.gather(entry.logits, tf.tensor1d(cuts, 'int32')), topK).indices;
        const ahead = tf.topk(promptLogits(entry.cache, cuts), topK).indices;
        const ownTop = own.dataSync();
        const aheadTop = ahead.dataSync();
        cuts.forEach((t, g) => {
          for (let rank = 0; rank < topK; rank++) {
            if (ownTop[g * topK + rank] === entry.tokens[t + 1]) accuracy[0][rank]++;
            for (let i = 0; i < promptTokens; i++) {
              if (aheadTop[(g * promptTokens + i) * topK + rank] === entry.tokens[t + 2 + i])
                accuracy[i + 1][rank]++;
            }
          }
        });
      });
      evaluated += cuts.length;
    }
    for (const row of accuracy)
      for (let rank = 0; rank < topK; rank++) row[rank] /= Math.max(1, evaluated);
    const tree = buildSparseTree(accuracy, treeSize);
    const weights: PpdWeights = {
      model: dataset.model,
      vocabSize,
      hiddenSize: dim,
      tree,
      ...(virtualTokens === 1 ? {} : { virtualTokens }),
      embeddings: loop.values.prompts,
      training: {
        data: {
          ...dataset.options,
          sequences: dataset.offsets.length - 1,
          trainSequences: trainSequences.length,
          heldOutPositions: evaluated,
        },
        promptTokens,
        virtualTokens,
        init,
        lossDecay,
        ...(cutsPerSequence === undefined ? {} : { cutsPerSequence }),
        schedule: options.schedule ?? 'constant',
        steps: options.steps,
        batchSize: options.batchSize,
        learningRate: options.learningRate,
        seed: options.seed,
        backend: `tfjs-${options.backend}`,
        finalLoss: loop.losses.at(-1)?.loss,
        heldOutTopKAccuracy: accuracy.map(row => row.map(value => Number(value.toFixed(4)))),
      },
    };
    return { weights, accuracy, losses: loop.losses, positionsPerSecond: loop.positionsPerSecond };
  } finally {
    for (const entry of prepared.values()) {
      for (const tensor of [...entry.cache.keys, ...entry.cache.values]) tensor.dispose();
      entry.teacher.dispose();
      entry.logits.dispose();
    }
    prompts.dispose();
    rowOffsets.dispose();
    lossWeights.dispose();
    llama.dispose();
  }
}

/** Initial prompt embeddings [rows, dim] (see `PpdInit`), deterministic by seed. */
function initialPrompts(
  table: Float32Array,
  dim: number,
  rows: number,
  init: PpdInit,
  seed: number,
): Float32Array {
  const scale = Math.sqrt(table.reduce((sum, value) => sum + value * value, 0) / table.length);
  if (init === 'random') return seededUniform(rows * dim, scale, seed);
  const out = new Float32Array(rows * dim);
  if (init === 'tokens') {
    const random = seededRandom(seed);
    const vocab = table.length / dim;
    for (let row = 0; row < rows; row++) {
      const token = Math.floor(random.next() * vocab);
      out.set(table.subarray(token * dim, (token + 1) * dim), row * dim);
    }
    return out;
  }
  const mean = new Float32Array(dim);
  for (let i = 0; i < table.length; i++) mean[i % dim] += table[i] / (table.length / dim);
  const noise = seededUniform(rows * dim, scale / 10, seed);
  for (let i = 0; i < out.length; i++) out[i] = mean[i % dim] + noise[i];
  return out;
}
