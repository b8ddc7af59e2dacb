import { seededRandom } from '@decodekit/core';
import { chimeraShapes, headFromLmHead, type ChimeraWeights } from '@decodekit/strategy-chimera';
import type { Dataset } from './dataset.js';
import { tf, useTrainBackend } from './tf-backend.js';
import type { TrainedFeatureDrafter } from './train-feature-drafter.js';
import { xavier } from './train-feature-drafter.js';
import {
  chainScorer,
  checkTrainingInputs,
  heldOutRecord,
  hiddenAt,
  positions,
  splitSequences,
  trainingRecord,
} from './training-data.js';
import { runLoop, type LoopOptions } from './training-loop.js';

/** Options of `trainChimera`. */
export interface TrainChimeraOptions extends LoopOptions {
  /** Draft heads, each trained on the step it drafts (Chimera: 4). Default 4. */
  heads?: number;
  /** Target hidden states the fusing layer attends to. Default 8. */
  window?: number;
  /** Attention heads of the fusing layer. Default 4. */
  attentionHeads?: number;
  /** Inner width of the fusing layer's MLP. Default 2 × hidden. */
  innerSize?: number;
  /** Weight of the token loss next to the feature regression. Default 1. */
  tokenLossWeight?: number;
  /** Depth of the held-out chain-acceptance evaluation. Default 6. */
  evalDepth?: number;
  /** Fraction of the sequences held out for evaluation. Default 0.1. */
  holdout?: number;
}

/** Masked-out attention score (a large negative logit, finite so that softmax never sees NaN). */
const MASKED = -1e9;

/** cos and sin of RoPE angles for positions 0..length-1, repeated over the two halves of each head. [length, headSize] */
function ropeTables(length: number, headSize: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = headSize / 2;
  const cos = new Float32Array(length * headSize);
  const sin = new Float32Array(length * headSize);
  for (let position = 0; position < length; position++) {
    for (let i = 0; i < half; i++) {
      const angle = position / 10_000 ** ((2 * i) / headSize);
      for (const j of [i, i + half]) {
        cos[position * headSize + j] = Math.cos(angle);
        sin[position * headSize + j] = Math.sin(angle);
      }
    }
  }
  return { cos: tf.tensor2d(cos, [length, headSize]), sin: tf.tensor2d(sin, [length, headSize]) };
}

/** HF Llama's rotate_half along the last axis. */
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const [first, second] = tf.split(x, 2, -1);
  return tf.concat([tf.neg(second), first], -1);
}

/**
 * Chimera training (kafkayu/Chimera `Chimera_model.py`), on the target's own generations with the target
 * frozen. For a position t the fusing layer reads the target's hidden states h_{t-L+1..t} (L drawn from
 * 1..window per sample: at inference the drafter only knows the states of the tokens it has seen verified)
 * and the trigram feature of (x_{t-1}, x_t, x_{t+1}) and predicts h_{t+1}; unrolled over `heads` steps, step
 * k appends the predicted features to the keys, reads the trigram k tokens on (teacher-forced tokens, as the
 * official code does) and trains head k on [h_t; f̂]. Loss per step: SmoothL1(f̂, h) + tokenLossWeight ·
 * CE(softmax(E h), head_k([h_t; f̂])) (the official code regresses logits with MSE; the soft cross-entropy is
 * EAGLE's). Heads start as [W_lm, W_lm]. Returns the weights and the held-out acceptance of greedy chains.
 */
export async function trainChimera(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  options: TrainChimeraOptions,
): Promise<TrainedFeatureDrafter<ChimeraWeights>> {
  const H = dataset.hiddenSize;
  const {
    heads = 4,
    window = 8,
    attentionHeads = 4,
    innerSize = 2 * H,
    tokenLossWeight = 1,
    evalDepth = 6,
    holdout = 0.1,
  } = options;
  checkTrainingInputs(dataset, lmHead, vocabSize, { heads, window, attentionHeads, innerSize });
  await useTrainBackend(options.backend);
  const headSize = H / attentionHeads;
  const split = splitSequences(dataset, holdout);
  const train = positions(dataset, split.train, heads);
  const test = positions(dataset, split.test, evalDepth);
  const startOf = new Int32Array(dataset.tokens.length);
  for (let s = 0; s + 1 < dataset.offsets.length; s++)
    startOf.fill(dataset.offsets[s], dataset.offsets[s], dataset.offsets[s + 1]);

  const table = tf.tensor2d(lmHead, [vocabSize, H]);
  const shapes = chimeraShapes({ vocabSize, hiddenSize: H, innerSize, heads });
  const variables: Record<string, tf.Variable> = {};
  Object.entries(shapes).forEach(([name, shape], index) => {
    let initial: tf.Tensor;
    if (name.endsWith('norm')) initial = tf.ones(shape);
    else if (name.startsWith('head.'))
      initial = tf.tensor2d(headFromLmHead(lmHead, { vocabSize, hiddenSize: H }), [
        vocabSize,
        2 * H,
      ]);
    // Residual branches start at zero (Chimera's ResBlock is zero-initialised; the MLP as usual).
    else if (name === 'tri.res.weight' || name === 'tri.res.bias' || name === 'mlp.down')
      initial = tf.zeros(shape);
    else initial = xavier(shape[0], shape[1] ?? 1, options.seed + index);
    variables[name] = tf.variable(initial, true, name);
  });
  const linear = (x: tf.Tensor, name: string): tf.Tensor => {
    const shape = x.shape;
    const flat = tf.reshape(x, [-1, shape[shape.length - 1]]);
    const out = tf.matMul(flat, variables[name], false, true);
    return tf.reshape(out, [...shape.slice(0, -1), out.shape[1] as number]);
  };
  const rmsNorm = (x: tf.Tensor, name: string) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), variables[name]);
  const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));
  const maxKeys = window + Math.max(heads, evalDepth);
  const rope = ropeTables(maxKeys, headSize);

  /**
   * One drafter step for a batch. keys [B, S, H] with additive mask [B, S] (the target's states and the
   * features drafted so far), trigram token ids [B] × 3, anchor h_t [B, H]; `head` the head index.
   */
  const step = (
    keys: tf.Tensor3D,
    mask: tf.Tensor2D,
    trigram: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D],
    anchor: tf.Tensor2D,
    head: number,
  ): { feature: tf.Tensor2D; logits: tf.Tensor2D } => {
    const batch = anchor.shape[0];
    const x = tf.concat(
      trigram.map(ids => tf.gather(table, ids)),
      1,
    );
    const g = linear(
      tf.add(x, silu(tf.add(linear(x, 'tri.res.weight'), variables['tri.res.bias']))),
      'tri.out',
    ) as tf.Tensor2D;
    const all = tf.concat([keys, tf.expandDims(g, 1)], 1); // [B, S, H]
    const length = all.shape[1] as number;
    const allMask = tf.concat([mask, tf.zeros([batch, 1])], 1); // [B, S]
    const normed = rmsNorm(all, 'attn.norm');
    const cos = tf.slice(rope.cos, [0, 0], [length, headSize]).reshape([length, 1, headSize]);
    const sin = tf.slice(rope.sin, [0, 0], [length, headSize]).reshape([length, 1, headSize]);
    const split = (t: tf.Tensor) => tf.reshape(t, [batch, length, attentionHeads, headSize]);
    const k = split(linear(normed, 'attn.k'));
    const kRotated = tf.add(tf.mul(k, cos), tf.mul(rotateHalf(k), sin)); // [B, S, nh, hd]
    const v = split(linear(normed, 'attn.v'));
    const q = tf.reshape(linear(rmsNorm(g, 'attn.norm'), 'attn.q'), [
      batch,
      attentionHeads,
      headSize,
    ]);
    const qCos = tf.slice(rope.cos, [length - 1, 0], [1, headSize]);
    const qSin = tf.slice(rope.sin, [length - 1, 0], [1, headSize]);
    const qRotated = tf.add(tf.mul(q, qCos), tf.mul(rotateHalf(q), qSin)); // [B, nh, hd]
    const scores = tf.add(
      tf.div(
        tf.matMul(
          tf.expandDims(qRotated, 2), // [B, nh, 1, hd]
          tf.transpose(kRotated, [0, 2, 1, 3]), // [B, nh, S, hd]
          false,
          true,
        ),
        Math.sqrt(headSize),
      ),
      tf.reshape(allMask, [batch, 1, 1, length]),
    );
    const attended = tf.matMul(tf.softmax(scores), tf.transpose(v, [0, 2, 1, 3])); // [B, nh, 1, hd]
    const a = tf.add(g, linear(tf.reshape(attended, [batch, H]), 'attn.o'));
    const n = rmsNorm(a, 'mlp.norm');
    const feature = tf.add(
      a,
      linear(tf.mul(silu(linear(n, 'mlp.gate')), linear(n, 'mlp.up')), 'mlp.down'),
    ) as tf.Tensor2D;
    const logits = linear(tf.concat([anchor, feature], 1), `head.${head}`) as tf.Tensor2D;
    return { feature, logits };
  };

  /** Keys and mask of the target's states h_{r-L+1..r} (slot window-1 holds h_r), L = lengths[i]. */
  const contextOf = (rows: readonly number[], lengths: readonly number[]) => {
    const keys = new Float32Array(rows.length * window * H);
    const mask = new Float32Array(rows.length * window).fill(MASKED);
    rows.forEach((r, i) => {
      for (let back = 0; back < lengths[i] && r - back >= startOf[r]; back++) {
        const slot = window - 1 - back;
        keys.set(
          dataset.hidden.subarray((r - back) * H, (r - back + 1) * H),
          (i * window + slot) * H,
        );
        mask[i * window + slot] = 0;
      }
    });
    return {
      keys: tf.tensor3d(keys, [rows.length, window, H]),
      mask: tf.tensor2d(mask, [rows.length, window]),
    };
  };
  /** Token ids x_{r+offset} (clamped to the sequence start) for each row. */
  const tokenAt = (rows: readonly number[], offset: number) =>
    tf.tensor1d(
      Int32Array.from(rows, r => dataset.tokens[Math.max(startOf[r], r + offset)]),
      'int32',
    );

  const loop = await runLoop({
    kind: `chimera-${heads}-${window}-${attentionHeads}-${innerSize}`,
    variables,
    sampleCount: train.length,
    options,
    lossOf: (indices, stepIndex) => {
      const rows = Array.from(indices, i => train[i]);
      const random = seededRandom(options.seed * 1_000_003 + stepIndex);
      const lengths = rows.map(() => 1 + Math.floor(random.next() * window));
      let { keys, mask } = contextOf(rows, lengths);
      const anchor = hiddenAt(dataset, rows, 0);
      let total = tf.scalar(0);
      for (let k = 0; k < heads; k++) {
        const { feature, logits } = step(
          keys,
          mask,
          [tokenAt(rows, k - 1), tokenAt(rows, k), tokenAt(rows, k + 1)],
          anchor,
          k,
        );
        const target = hiddenAt(dataset, rows, k + 1);
        const regression = tf.losses.huberLoss(target, feature);
        const teacher = tf.softmax(tf.matMul(target, table, false, true));
        const classification = tf.losses.softmaxCrossEntropy(teacher, logits);
        total = tf.add(
          total,
          tf.div(tf.add(regression, tf.mul(classification, tokenLossWeight)), heads),
        );
        keys = tf.concat([keys, tf.expandDims(feature, 1)], 1);
        mask = tf.concat([mask, tf.zeros([rows.length, 1])], 1);
      }
      return total as tf.Scalar;
    },
  });

  // Held-out greedy chains with the full window: from the true states up to x_{t+1}, draft evalDepth tokens
  // on the drafter's own features and tokens; count the prefix that matches the target's tokens.
  const scorer = chainScorer(dataset);
  const chunk = 2048;
  for (let start = 0; start < test.length; start += chunk) {
    const rows = Array.from(test.subarray(start, Math.min(test.length, start + chunk)));
    const record = scorer.begin(rows);
    tf.tidy(() => {
      let { keys, mask } = contextOf(
        rows,
        rows.map(() => window),
      );
      const anchor = hiddenAt(dataset, rows, 0);
      let trigram: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] = [
        tokenAt(rows, -1),
        tokenAt(rows, 0),
        tokenAt(rows, 1),
      ];
      for (let d = 1; d <= evalDepth; d++) {
        const { feature, logits } = step(keys, mask, trigram, anchor, Math.min(d, heads) - 1);
        const tokens = tf.argMax(logits, 1) as tf.Tensor1D;
        record(d, tokens.dataSync());
        keys = tf.concat([keys, tf.expandDims(feature, 1)], 1);
        mask = tf.concat([mask, tf.zeros([rows.length, 1])], 1);
        trigram = [trigram[1], trigram[2], tokens];
      }
    });
  }
  const heldOut = scorer.result(test.length);
  const weights: ChimeraWeights = {
    model: dataset.model,
    vocabSize,
    hiddenSize: H,
    innerSize,
    attentionHeads,
    heads,
    window,
    tensors: loop.values,
    training: trainingRecord({
      dataset,
      options,
      trainPositions: train.length,
      heldOutPositions: test.length,
      settings: { tokenLossWeight },
      finalLoss: loop.losses.at(-1)?.loss,
      results: heldOutRecord(heldOut, evalDepth),
    }),
  };
  for (const variable of Object.values(variables)) variable.dispose();
  table.dispose();
  rope.cos.dispose();
  rope.sin.dispose();
  const { losses, positionsPerSecond } = loop;
  return { weights, heldOut, losses, positionsPerSecond };
}
