import { InvalidArgumentError, softmax } from '@decodekit/core';
import type { Dataset } from './dataset.js';
import { llamaPerplexity, tfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { runLoop, type LoopOptions } from './training-loop.js';
import { checkTrainingInputs, splitSequences } from './training-data.js';

/** A lexical unit: tokens `start .. start + length - 1` of a sequence, decoded in one step. */
export interface LexicalUnit {
  start: number;
  length: number;
}

/**
 * Splits a sequence into lexical units, left to right (LUD, Sun et al., 2024): a unit starts at any token and
 * takes in each following token the base model predicted with probability ≥ `alpha` (teacher-forced on the
 * sequence), up to `maxLength` tokens. A unit's first token is whatever the model decodes there; the rest are
 * the confident continuation that a LUD model learns to emit in the same step. Token 0 (BOS) is context, not
 * part of a unit.
 * @param probabilities `probabilities[i]` = p(token i | tokens before i) under the base model (index 0 unused)
 * @param alpha confidence that joins a token to the unit before it, in (0, 1]
 * @param maxLength most tokens per unit (1 + the placeholders of a step)
 */
export function lexicalUnits(
  probabilities: ArrayLike<number>,
  alpha: number,
  maxLength: number,
): LexicalUnit[] {
  if (!(alpha > 0 && alpha <= 1))
    throw new InvalidArgumentError({
      argument: 'alpha',
      message: `must be in (0, 1], got ${alpha}.`,
    });
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new InvalidArgumentError({
      argument: 'maxLength',
      message: `must be a positive integer, got ${maxLength}.`,
    });
  const units: LexicalUnit[] = [];
  for (let start = 1; start < probabilities.length;) {
    let length = 1;
    while (
      length < maxLength &&
      start + length < probabilities.length &&
      probabilities[start + length] >= alpha
    )
      length++;
    units.push({ start, length });
    start += length;
  }
  return units;
}

/** One sequence laid out for LUD training: its real rows, then a placeholder group per unit. */
export interface LudLayout {
  /** Input token of each row. [rows] */
  tokens: Int32Array;
  /** Parent row of each row (-1: none), as `TfLlamaLayout.parents`. [rows] */
  parents: Int32Array;
  /** Target token of each row (0 where there is none). [rows] */
  labels: Int32Array;
  /** 0 for a real row, j for the j-th placeholder of a group. [rows] */
  depth: Int32Array;
  /** 1 where the row's target lies inside its unit (placeholders only). [rows] */
  inUnit: Uint8Array;
  /** 1 where the row has a target. [rows] */
  hasLabel: Uint8Array;
}

/**
 * LUD's reconfigured training sample, without an architecture change. The real tokens form one causal chain
 * with next-token targets (plain decoding keeps working). For each unit starting at token s, a group of
 * `placeholders` rows fed `placeholderTokenId` hangs off real row s - 1 (so it sees tokens 0..s-1 and the
 * group's earlier placeholders, at positions s, s + 1, ...); placeholder j is trained on token s + j. This is
 * exactly what one LUD step sees at inference: the real row after the last accepted token gives token s, and
 * placeholder j the token j after it. Targets past the unit's end are trained too, so the placeholder
 * confidence is calibrated: high inside a unit, low where the base model was unsure.
 * @param sequence token ids (BOS first)
 * @param units its lexical units (`lexicalUnits`)
 * @param placeholders rows per group
 * @param placeholderTokenId id fed at placeholder rows
 */
export function ludLayout(
  sequence: ArrayLike<number>,
  units: readonly LexicalUnit[],
  placeholders: number,
  placeholderTokenId: number,
): LudLayout {
  const n = sequence.length;
  const rows = n + units.length * placeholders;
  const layout: LudLayout = {
    tokens: new Int32Array(rows),
    parents: new Int32Array(rows),
    labels: new Int32Array(rows),
    depth: new Int32Array(rows),
    inUnit: new Uint8Array(rows),
    hasLabel: new Uint8Array(rows),
  };
  for (let r = 0; r < n; r++) {
    layout.tokens[r] = sequence[r];
    layout.parents[r] = r - 1;
    if (r + 1 < n) {
      layout.labels[r] = sequence[r + 1];
      layout.hasLabel[r] = 1;
    }
  }
  let row = n;
  for (const { start, length } of units) {
    for (let j = 1; j <= placeholders; j++, row++) {
      layout.tokens[row] = placeholderTokenId;
      layout.parents[row] = j === 1 ? start - 1 : row - 1;
      layout.depth[row] = j;
      if (start + j < n) {
        layout.labels[row] = sequence[start + j];
        layout.hasLabel[row] = 1;
        layout.inUnit[row] = j < length ? 1 : 0;
      }
    }
  }
  return layout;
}

/** Options of `trainLud`. */
export interface TrainLudOptions extends LoopOptions {
  /** Placeholder rows per step (the most extra tokens a step can emit). Default 3. */
  placeholders?: number;
  /** Id fed at placeholder rows. Default 0 (`<unk>`, which a byte-fallback tokenizer never emits). */
  placeholderTokenId?: number;
  /** Base-model confidence that joins a token to its unit. Default 0.9. */
  alpha?: number;
  /** Weight of the placeholder loss against the next-token loss. Default 1. */
  placeholderWeight?: number;
  /** Passes over the training sequences; sets `steps` when given. */
  epochs?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

/** What `trainLud` returns. */
export interface TrainLudResult {
  weights: TfLlamaWeights;
  losses: { step: number; loss: number }[];
  positionsPerSecond: number;
  /** Lexical units of the training sequences: mean tokens per unit, share of tokens not first in a unit. */
  units: { count: number; meanLength: number; joinedShare: number };
  heldOut: {
    /** Next-token perplexity of the real rows, base and tuned weights. */
    perplexityBefore: number;
    perplexityAfter: number;
    /** Top-1 accuracy of placeholder j (index j - 1) on targets inside a unit. */
    unitAccuracy: number[];
    /** Mean top-1 probability of placeholder j on targets inside a unit, and past its end. */
    unitConfidence: number[];
    outsideConfidence: number[];
  };
}

/**
 * The base model's next-token distributions after rows `from .. to - 1` of the dataset (from its hidden states and
 * the LM head; a row ending its sequence included, `from .. to` being one sequence's rows, is left zero).
 * [rows, vocab]
 */
function baseDistributions(
  dataset: Dataset,
  lmHead: Float32Array,
  vocab: number,
  from: number,
  to: number,
): Float32Array {
  const H = dataset.hiddenSize;
  const next = new Float32Array((to - from) * vocab);
  const logits = new Float32Array(vocab);
  for (let r = from; r + 1 < to; r++) {
    for (let v = 0; v < vocab; v++) {
      let dot = 0;
      for (let i = 0; i < H; i++) dot += dataset.hidden[r * H + i] * lmHead[v * H + i];
      logits[v] = dot;
    }
    next.set(softmax(logits), (r - from) * vocab);
  }
  return next;
}

/** p(token r | tokens before r) of every row of the dataset under the base model (row 0 of a sequence: 0). [rows] */
function baseProbabilities(dataset: Dataset, lmHead: Float32Array, vocab: number): Float32Array {
  const probabilities = new Float32Array(dataset.tokens.length);
  for (let s = 0; s + 1 < dataset.offsets.length; s++) {
    const [from, to] = [dataset.offsets[s], dataset.offsets[s + 1]];
    const next = baseDistributions(dataset, lmHead, vocab, from, to);
    for (let r = from; r + 1 < to; r++)
      probabilities[r + 1] = next[(r - from) * vocab + dataset.tokens[r + 1]];
  }
  return probabilities;
}

/**
 * Packs layouts into one padded batch (padding rows see only themselves and carry no target). Targets: the
 * base model's distribution at real rows (`teachers[b]`, rows of sample b), one-hot at placeholder rows.
 */
function packLayouts(
  layouts: readonly LudLayout[],
  teachers: readonly Float32Array[],
  vocab: number,
) {
  const B = layouts.length;
  const time = Math.max(...layouts.map(layout => layout.tokens.length));
  const tokens = new Int32Array(B * time);
  const parents = new Int32Array(B * time).fill(-1);
  const targets = new Float32Array(B * time * vocab);
  const real = new Float32Array(B * time);
  const placeholder = new Float32Array(B * time);
  layouts.forEach((layout, b) => {
    tokens.set(layout.tokens, b * time);
    parents.set(layout.parents, b * time);
    for (let r = 0; r < layout.tokens.length; r++) {
      if (!layout.hasLabel[r]) continue;
      const row = b * time + r;
      if (layout.depth[r] === 0) {
        real[row] = 1;
        targets.set(teachers[b].subarray(r * vocab, (r + 1) * vocab), row * vocab);
      } else {
        placeholder[row] = 1;
        targets[row * vocab + layout.labels[r]] = 1;
      }
    }
  });
  return { time, tokens, parents, targets, real, placeholder };
}

/** LUD's training data, built once for either backend (`prepareLud`). */
export interface LudPreparation {
  /** The recipe with its defaults filled in. */
  placeholders: number;
  placeholderTokenId: number;
  alpha: number;
  placeholderWeight: number;
  /** Steps to run (`epochs` turned into steps when given). */
  steps: number;
  /** Sequences `[from, to)` trained on and held out (`splitSequences`). */
  train: [number, number];
  test: [number, number];
  /** The layout of training sequence `train[0] + i`. */
  trainLayouts: LudLayout[];
  /** Units and layout of any dataset sequence. */
  layoutOf: (sequence: number) => { units: LexicalUnit[]; layout: LudLayout };
  /** The base model's next-token distributions after every row of a sequence (`[rows, vocab]`, the last row 0). */
  teacherOf: (sequence: number) => Float32Array;
  units: TrainLudResult['units'];
}

/**
 * Checks `trainLud`'s inputs and builds its training data: the base model's probability of every token (from the
 * dataset's hidden states and `lmHead`), the lexical units (`lexicalUnits`) and each training sequence's layout
 * (`ludLayout`). Shared by `trainLud` (TensorFlow.js) and `trainLudTorch` (PyTorch).
 * @throws InvalidArgumentError for a dataset of another model, too long sequences or a bad option
 */
export function prepareLud(
  dataset: Dataset,
  lmHead: Float32Array,
  config: TfLlamaConfig,
  options: TrainLudOptions,
): LudPreparation {
  const {
    placeholders = 3,
    placeholderTokenId = 0,
    alpha = 0.9,
    placeholderWeight = 1,
    holdout = 0.1,
  } = options;
  checkTrainingInputs(dataset, lmHead, config.vocabSize, { placeholders });
  if (dataset.hiddenSize !== config.dim)
    throw new InvalidArgumentError({
      argument: 'dataset',
      message: `was generated by a model of hidden size ${dataset.hiddenSize}, but the checkpoint has dim ${config.dim}; pass the checkpoint of ${dataset.model}.`,
    });
  if (
    !Number.isInteger(placeholderTokenId) ||
    placeholderTokenId < 0 ||
    placeholderTokenId >= config.vocabSize
  )
    throw new InvalidArgumentError({
      argument: 'placeholderTokenId',
      message: `must be a token id below ${config.vocabSize}, got ${placeholderTokenId}.`,
    });
  if (!(placeholderWeight > 0 && Number.isFinite(placeholderWeight)))
    throw new InvalidArgumentError({
      argument: 'placeholderWeight',
      message: `must be a positive number, got ${placeholderWeight}.`,
    });
  let longest = 0;
  for (let s = 0; s + 1 < dataset.offsets.length; s++)
    longest = Math.max(longest, dataset.offsets[s + 1] - dataset.offsets[s]);
  if (longest + placeholders > config.contextLength)
    throw new InvalidArgumentError({
      argument: 'dataset',
      message: `sequences of ${longest} tokens plus ${placeholders} placeholders exceed the context length ${config.contextLength}; generate shorter sequences.`,
    });

  const vocab = config.vocabSize;
  const probabilities = baseProbabilities(dataset, lmHead, vocab);
  const teacherOf = (s: number) =>
    baseDistributions(dataset, lmHead, vocab, dataset.offsets[s], dataset.offsets[s + 1]);
  const { train, test } = splitSequences(dataset, holdout);
  const layoutOf = (s: number) => {
    const units = lexicalUnits(
      probabilities.subarray(dataset.offsets[s], dataset.offsets[s + 1]),
      alpha,
      placeholders + 1,
    );
    const sequence = dataset.tokens.subarray(dataset.offsets[s], dataset.offsets[s + 1]);
    return { units, layout: ludLayout(sequence, units, placeholders, placeholderTokenId) };
  };
  const trainLayouts: LudLayout[] = [];
  let unitCount = 0;
  let unitTokens = 0;
  for (let s = train[0]; s < train[1]; s++) {
    const { units, layout } = layoutOf(s);
    trainLayouts.push(layout);
    unitCount += units.length;
    unitTokens += units.reduce((sum, unit) => sum + unit.length, 0);
  }
  const steps =
    options.epochs === undefined
      ? options.steps
      : Math.ceil((options.epochs * trainLayouts.length) / options.batchSize);
  return {
    placeholders,
    placeholderTokenId,
    alpha,
    placeholderWeight,
    steps,
    train,
    test,
    trainLayouts,
    layoutOf,
    teacherOf,
    units: {
      count: unitCount,
      meanLength: unitTokens / unitCount,
      joinedShare: (unitTokens - unitCount) / unitTokens,
    },
  };
}

/**
 * `trainLud`'s held-out numbers for tuned weights (TensorFlow.js, inference only; call after
 * `useTrainBackend()`): the real rows' perplexity under the base and the tuned weights, and each placeholder
 * depth's top-1 accuracy and confidence inside units and past their end.
 */
export function evaluateLud(
  dataset: Dataset,
  prepared: LudPreparation,
  target: { config: TfLlamaConfig; weights: TfLlamaWeights },
  weights: TfLlamaWeights,
): TrainLudResult['heldOut'] {
  const { config } = target;
  const { placeholders, test, layoutOf } = prepared;
  const heldOutSequences = Array.from({ length: test[1] - test[0] }, (_, i) =>
    Array.from(
      dataset.tokens.subarray(dataset.offsets[test[0] + i], dataset.offsets[test[0] + i + 1]),
    ),
  );
  const [perplexityBefore] = llamaPerplexity(config, target.weights, heldOutSequences);
  const [perplexityAfter] = llamaPerplexity(config, weights, heldOutSequences);
  const hits = new Float64Array(placeholders);
  const inside = new Float64Array(placeholders);
  const insideConfidence = new Float64Array(placeholders);
  const outside = new Float64Array(placeholders);
  const outsideConfidence = new Float64Array(placeholders);
  const model = tfLlama(config, weights);
  try {
    for (let s = test[0]; s < test[1]; s++) {
      const { layout } = layoutOf(s);
      const rows = layout.tokens.length;
      const logits = tf.tidy(
        () =>
          model
            .logits(tf.tensor2d(layout.tokens, [1, rows], 'int32'), { parents: layout.parents })
            .dataSync() as Float32Array,
      );
      for (let r = 0; r < rows; r++) {
        const j = layout.depth[r];
        if (j === 0 || !layout.hasLabel[r]) continue;
        const p = softmax(logits.subarray(r * config.vocabSize, (r + 1) * config.vocabSize));
        let best = 0;
        for (let v = 1; v < p.length; v++) if (p[v] > p[best]) best = v;
        if (layout.inUnit[r]) {
          inside[j - 1]++;
          insideConfidence[j - 1] += p[best];
          if (best === layout.labels[r]) hits[j - 1]++;
        } else {
          outside[j - 1]++;
          outsideConfidence[j - 1] += p[best];
        }
      }
    }
  } finally {
    model.dispose();
  }
  const ratio = (a: Float64Array, b: Float64Array) =>
    Array.from(a, (value, i) => (b[i] > 0 ? value / b[i] : Number.NaN));
  return {
    perplexityBefore,
    perplexityAfter,
    unitAccuracy: ratio(hits, inside),
    unitConfidence: ratio(insideConfidence, inside),
    outsideConfidence: ratio(outsideConfidence, outside),
  };
}

/**
 * Fine-tunes a whole Llama model for Lexical Unit Decoding (Sun et al., 2024, "Decoding at the Speed of
 * Thought", https://arxiv.org/abs/2405.15208) on the target's own generations: (1) the base model's
 * probability of each token, read from the dataset's hidden states and `lmHead`, marks the lexical units
 * (`lexicalUnits`, confidence ≥ `alpha`); (2) each sequence is reconfigured (`ludLayout`) so that at every
 * unit start `placeholders` placeholder rows predict the following tokens in parallel, next to the plain
 * next-token rows; (3) Adam on the next-token cross-entropy of the real rows against the base model's own
 * distribution there (soft labels: the sequences are its greedy generations, so plain decoding keeps its
 * argmax and its diversity instead of sharpening on its own outputs) + `placeholderWeight` × the placeholder
 * rows' cross-entropy on the tokens ahead, through `runLoop` (deterministic by seed, resumable). The weights go back through `writeLlama2cCheckpoint`;
 * `@decodekit/strategy-lud` decodes with them.
 * @param dataset the target's generations (`generateDataset`) with its hidden states
 * @param lmHead the target's LM head `[vocab, hidden]` (its tied embedding table)
 * @param target the target's llama2.c config and weights (the starting point; not modified)
 * @param options loop options and the LUD recipe
 */
export async function trainLud(
  dataset: Dataset,
  lmHead: Float32Array,
  target: { config: TfLlamaConfig; weights: TfLlamaWeights },
  options: TrainLudOptions,
): Promise<TrainLudResult> {
  const { config } = target;
  const prepared = prepareLud(dataset, lmHead, config, options);
  const { placeholders, placeholderTokenId, alpha, placeholderWeight, steps, train } = prepared;
  const { trainLayouts, teacherOf } = prepared;
  const vocab = config.vocabSize;

  await useTrainBackend(options.backend);
  const model = tfLlama(config, target.weights);
  try {
    const loop = await runLoop({
      kind: `llama-lud-distil-${config.dim}x${config.numLayers}-m${placeholders}-a${alpha}-p${placeholderTokenId}-w${placeholderWeight}`,
      variables: model.variables,
      sampleCount: trainLayouts.length,
      options: { ...options, steps },
      lossOf: indices => {
        const batch = packLayouts(
          Array.from(indices, i => trainLayouts[i]),
          Array.from(indices, i => teacherOf(train[0] + i)),
          vocab,
        );
        const B = indices.length;
        const logits = tf.reshape(
          model.logits(tf.tensor2d(batch.tokens, [B, batch.time], 'int32'), {
            parents: batch.parents,
          }),
          [B * batch.time, config.vocabSize],
        );
        const targets = tf.tensor2d(batch.targets, [B * batch.time, vocab]);
        const realLoss = tf.losses.softmaxCrossEntropy(targets, logits, tf.tensor1d(batch.real));
        const placeholderLoss = tf.losses.softmaxCrossEntropy(
          targets,
          logits,
          tf.tensor1d(batch.placeholder),
        );
        return tf.add(realLoss, tf.mul(placeholderLoss, placeholderWeight)) as tf.Scalar;
      },
    });
    const weights = model.weights();
    return {
      weights,
      losses: loop.losses,
      positionsPerSecond: loop.positionsPerSecond,
      units: prepared.units,
      heldOut: evaluateLud(dataset, prepared, target, weights),
    };
  } finally {
    model.dispose();
  }
}
