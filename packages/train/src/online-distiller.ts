import { InvalidArgumentError } from '@decodekit/core';
import type { CausalLM, DraftTrainingSample, DraftUpdater, ScoredPosition } from '@decodekit/core';
import { tfLlama, type TfLlama, type TfLlamaConfig, type TfLlamaWeights } from './llama-tf.js';
import { TRAIN_BACKENDS, tf, useTrainBackend, type TrainBackend } from './tf-backend.js';

/**
 * The divergence a draft is distilled with, as the official OSD trainer (`distill/distill_trainer.py`,
 * `KL_METHOD_MAP`) names them: `forward` KL(p_target ‖ q_draft), `reverse` KL(q_draft ‖ p_target), and
 * `jsd`, which that trainer computes as 0.9·forward + 0.1·reverse KL (not the symmetric Jensen–Shannon
 * divergence).
 */
export type DistillDivergence = 'forward' | 'reverse' | 'jsd';

/** Every {@link DistillDivergence}. */
export const DISTILL_DIVERGENCES: readonly DistillDivergence[] = ['forward', 'reverse', 'jsd'];

/**
 * Which positions of a generation the draft is distilled on: `step-starts` are the official online step's
 * (`wrong_token_ids`: one per verification step, the logits right after the step's last emitted token, i.e.
 * the next step's first draft position; `DraftTrainingSample.stepStarts`), `rejected` the positions where
 * the target rejected the draft (the paper's description; `DraftTrainingSample.rejected`), `verified` every
 * emitted position the verification forwards scored (`DraftTrainingSample.verified`; like the official
 * offline step, which distils on every generated position).
 */
export type DistillPositions = 'step-starts' | 'rejected' | 'verified';

/** Every {@link DistillPositions}. */
export const DISTILL_POSITIONS: readonly DistillPositions[] = [
  'step-starts',
  'rejected',
  'verified',
];

/** The forward-KL weight of the official trainer's `jsd` (`fwd_loss_ratio`). */
const JSD_FORWARD_WEIGHT = 0.9;

/**
 * Mean divergence between teacher and student distributions over rows, both given as logits, each
 * distribution the softmax of logits / `temperature` (1, the official trainer's, by default).
 * Differentiable in `studentLogits`.
 * @param studentLogits the draft's logits [rows, vocab]
 * @param teacherLogits the target's logits [rows, vocab]
 * @param divergence which divergence (see {@link DistillDivergence})
 * @param temperature softmax temperature of both distributions (> 0)
 * @returns a scalar: the divergence averaged over the rows (nats)
 */
export function distillationLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  divergence: DistillDivergence,
  temperature = 1,
): tf.Scalar {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(
      temperature === 1 ? studentLogits : tf.div(studentLogits, temperature),
    );
    const logP = tf.logSoftmax(
      temperature === 1 ? teacherLogits : tf.div(teacherLogits, temperature),
    );
    const kl = (logA: tf.Tensor, logB: tf.Tensor) =>
      tf.mean(tf.sum(tf.mul(tf.exp(logA), tf.sub(logA, logB)), -1));
    if (divergence === 'forward') return kl(logP, logQ) as tf.Scalar;
    if (divergence === 'reverse') return kl(logQ, logP) as tf.Scalar;
    return tf.add(
      tf.mul(kl(logP, logQ), JSD_FORWARD_WEIGHT),
      tf.mul(kl(logQ, logP), 1 - JSD_FORWARD_WEIGHT),
    ) as tf.Scalar;
  });
}

/** Options of {@link onlineDistiller}. */
export interface OnlineDistillerOptions {
  /** The draft's architecture (e.g. from `readLlama2cCheckpoint` of `@decodekit/models`). */
  config: TfLlamaConfig;
  /** The draft's starting weights (copied; the inputs stay untouched). */
  weights: TfLlamaWeights;
  /**
   * Turns updated weights into a runnable draft, e.g. `writeLlama2cCheckpoint` → `convertLlama2c` (the
   * graph builder) → a backend's `load`. Called once per update.
   */
  load: (weights: TfLlamaWeights, version: number) => Promise<CausalLM>;
  /** Default `forward` (the official online step's soft cross-entropy has the forward-KL gradient). */
  divergence?: DistillDivergence;
  /**
   * The positions distilled on (see {@link DistillPositions}). Default `step-starts` (the official online
   * step's); `rejected` needs neither `stepStarts` nor `verified` in the samples.
   */
  positions?: DistillPositions;
  /**
   * Softmax temperature of teacher and student in the loss. Default 1: the official trainer's, whatever
   * the decoding temperature (its online step decodes at 0.01 and distils at 1).
   */
  temperature?: number;
  /** Adam's constant learning rate. Default 1e-4 (the official online recipe). */
  learningRate?: number;
  /** Adam steps on each buffer. Default 1 (the official online step). */
  stepsPerUpdate?: number;
  /**
   * Gradients are scaled down to this global L2 norm before each Adam step (`clip_grad_norm_`). Default 1,
   * the Hugging Face Trainer's `max_grad_norm` the official trainer runs with; `Infinity` turns it off.
   */
  maxGradNorm?: number;
  /**
   * Earlier buffers distilled again with each update: the samples of the last `replay` updates are packed
   * into the batch beside the new buffer (a replay buffer; at a constant learning rate it weighs recent
   * traffic more than one pass does). Default 0: the official online step distils each buffer once.
   */
  replay?: number;
  /** TensorFlow.js backend. Default `wasm`. */
  backend?: TrainBackend;
}

/** One finished update. */
export interface DistillUpdateRecord {
  /** 1 for the first update. */
  readonly version: number;
  /** Positions distilled on (the replayed buffers' included). */
  readonly positions: number;
  /** Loss before the first and after the last step of this update (nats, mean over positions). */
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly trainMs: number;
  readonly loadMs: number;
}

/** A {@link DraftUpdater} that distils a Llama draft's weights; keeps its weights and Adam state across updates. */
export interface OnlineDistiller extends DraftUpdater {
  /** One record per update. */
  readonly records: readonly DistillUpdateRecord[];
  /** The current weights (llama2.c layout). */
  weights(): TfLlamaWeights;
  /** Frees the TensorFlow.js variables; later updates throw. */
  dispose(): void;
}

/**
 * Online draft distillation (Liu et al., 2023, "Online Speculative Decoding",
 * https://arxiv.org/abs/2310.07177; after the official trainer's online step, LiuXiaoxuanPKU/OSD
 * `distill/distill_trainer.py`): each update takes the buffered generations, runs the draft (a
 * differentiable `tfLlama`) over each generation's tokens, and minimizes the chosen divergence between
 * the target's distribution and the draft's at the positions where the target rejected the draft — the
 * target logits come from the verification forwards, so no extra target forward runs. Adam with a
 * constant learning rate; its moments persist across updates, as the official trainer's optimizer does.
 * Then `load` builds the updated draft, which the drafter hot-swaps in.
 */
export function onlineDistiller(options: OnlineDistillerOptions): OnlineDistiller {
  const {
    config,
    weights,
    load,
    divergence = 'forward',
    positions = 'step-starts',
    temperature = 1,
    learningRate = 1e-4,
    stepsPerUpdate = 1,
    maxGradNorm = 1,
    replay = 0,
    backend = 'wasm',
  } = options;
  if (typeof load !== 'function') {
    throw new InvalidArgumentError({
      argument: 'load',
      message: 'must be a function turning weights into a draft CausalLM.',
    });
  }
  if (!DISTILL_DIVERGENCES.includes(divergence)) {
    throw new InvalidArgumentError({
      argument: 'divergence',
      message: `must be one of ${DISTILL_DIVERGENCES.join(', ')}, got ${String(divergence)}.`,
    });
  }
  if (!DISTILL_POSITIONS.includes(positions)) {
    throw new InvalidArgumentError({
      argument: 'positions',
      message: `must be one of ${DISTILL_POSITIONS.join(', ')}, got ${String(positions)}.`,
    });
  }
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be a positive number (1 = the official trainer's), got ${String(temperature)}.`,
    });
  }
  if (!(maxGradNorm > 0)) {
    throw new InvalidArgumentError({
      argument: 'maxGradNorm',
      message: `must be a positive number (Infinity turns clipping off), got ${String(maxGradNorm)}.`,
    });
  }
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new InvalidArgumentError({
      argument: 'learningRate',
      message: `must be a positive number, got ${String(learningRate)}.`,
    });
  }
  if (!Number.isInteger(stepsPerUpdate) || stepsPerUpdate < 1) {
    throw new InvalidArgumentError({
      argument: 'stepsPerUpdate',
      message: `must be a positive integer, got ${String(stepsPerUpdate)}.`,
    });
  }
  if (!Number.isInteger(replay) || replay < 0) {
    throw new InvalidArgumentError({
      argument: 'replay',
      message: `must be a non-negative integer (earlier buffers distilled again; 0 = none), got ${String(replay)}.`,
    });
  }
  if (!TRAIN_BACKENDS.includes(backend)) {
    throw new InvalidArgumentError({
      argument: 'backend',
      message: `must be one of ${TRAIN_BACKENDS.join(', ')}, got ${String(backend)}.`,
    });
  }

  let model: TfLlama | undefined;
  let optimizer: tf.Optimizer | undefined;
  let disposed = false;
  const records: DistillUpdateRecord[] = [];
  /** The last `replay` buffers, oldest first. */
  const replayed: (readonly DraftTrainingSample[])[] = [];
  /** Updates run one at a time (each starts from the weights the last one left). */
  let queue: Promise<unknown> = Promise.resolve();

  async function ready(): Promise<TfLlama> {
    await useTrainBackend(backend);
    model ??= tfLlama(config, weights);
    // β and ε of PyTorch's AdamW (weight decay 0), the official trainer's optimizer.
    optimizer ??= tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
    return model;
  }

  async function update(
    samples: readonly DraftTrainingSample[],
    { signal }: { readonly signal?: AbortSignal } = {},
  ): Promise<CausalLM> {
    if (disposed) {
      throw new InvalidArgumentError({
        argument: 'updater',
        message: 'this online distiller was disposed; create a new one.',
      });
    }
    signal?.throwIfAborted();
    const batch = packPositions([...replayed.flat(), ...samples], positions, config);
    const version = records.length + 1;
    const began = performance.now();
    let lossBefore = Number.NaN;
    let lossAfter = Number.NaN;
    if (batch) {
      const llama = await ready();
      const variables = Object.values(llama.variables);
      const lossOf = () => {
        const logits = llama.logits(tf.tensor2d(batch.inputs, [batch.rows, batch.time], 'int32'));
        const flat = tf.reshape(logits, [batch.rows * batch.time, config.vocabSize]) as tf.Tensor2D;
        // Row selection as a one-hot matmul: the wasm backend has no gradient kernel for gather.
        const picked = tf.matMul(
          tf.tensor2d(batch.select, [batch.positions, batch.rows * batch.time]),
          flat,
        ) as tf.Tensor2D;
        const teacher = tf.tensor2d(batch.teacher, [batch.positions, config.vocabSize]);
        return distillationLoss(picked, teacher, divergence, temperature);
      };
      for (let step = 0; step < stepsPerUpdate; step++) {
        signal?.throwIfAborted();
        const { value, grads } = (optimizer as tf.Optimizer).computeGradients(lossOf, variables);
        const clipped = clipByGlobalNorm(grads, maxGradNorm);
        (optimizer as tf.Optimizer).applyGradients(clipped);
        if (step === 0) lossBefore = (await value.data())[0];
        tf.dispose([value, grads, clipped]);
      }
      const after = tf.tidy(lossOf);
      lossAfter = (await after.data())[0];
      after.dispose();
    }
    if (replay > 0) {
      replayed.push(samples);
      if (replayed.length > replay) replayed.shift();
    }
    const trained = performance.now();
    const draft = await load(model ? model.weights() : weights, version);
    records.push({
      version,
      positions: batch?.positions ?? 0,
      lossBefore,
      lossAfter,
      trainMs: trained - began,
      loadMs: performance.now() - trained,
    });
    return draft;
  }

  return {
    name: `online-distiller(${divergence} at ${positions}${temperature === 1 ? '' : `, T ${temperature}`}, lr ${learningRate}, ${stepsPerUpdate} step${stepsPerUpdate === 1 ? '' : 's'}${replay === 0 ? '' : `, replay ${replay}`})`,
    get records() {
      return records;
    },
    update(samples, updateOptions) {
      const run = queue.then(() => update(samples, updateOptions));
      queue = run.catch(() => undefined);
      return run;
    },
    weights: () => (model ? model.weights() : weights),
    dispose() {
      disposed = true;
      model?.dispose();
      optimizer?.dispose();
      model = undefined;
      optimizer = undefined;
    },
  };
}

/** `grads` scaled by min(1, maxNorm / (‖grads‖₂ + 1e-6)), as PyTorch's `clip_grad_norm_`. */
function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  if (maxNorm === Infinity)
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.clone(g)]));
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(Object.values(grads).map(g => tf.sum(tf.square(g)))));
    const scale = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
  });
}

/**
 * The chosen positions of `samples` as one padded batch: each sample's tokens before its last position
 * (the draft's inputs), a one-hot row selector of the logits rows that predicted each position, and the
 * target's logits there. Positions past the draft's context are dropped. Undefined when there is nothing
 * to distil.
 */
function packPositions(
  samples: readonly DraftTrainingSample[],
  which: DistillPositions,
  config: TfLlamaConfig,
) {
  const kept = samples
    .map(sample => {
      const scored: readonly ScoredPosition[] | undefined =
        which === 'rejected'
          ? sample.rejected
          : which === 'verified'
            ? sample.verified
            : sample.stepStarts;
      if (scored === undefined) {
        throw new InvalidArgumentError({
          argument: 'samples',
          message:
            which === 'verified'
              ? "a sample has no verified positions; record them (onlineSd({ recordVerified: true })) or distil with positions: 'step-starts'."
              : "a sample has no stepStarts (its drafter does not record them); distil with positions: 'rejected'.",
        });
      }
      return { sample, rejected: scored };
    })
    .map(({ sample, rejected }) => ({
      sample,
      rejected: rejected.filter(
        r =>
          r.position >= 1 &&
          r.position <= config.contextLength &&
          r.position <= sample.tokens.length,
      ),
    }))
    .filter(({ rejected }) => rejected.length > 0);
  if (kept.length === 0) return undefined;
  for (const { rejected } of kept) {
    for (const r of rejected) {
      if (r.targetLogits.length !== config.vocabSize) {
        throw new InvalidArgumentError({
          argument: 'samples',
          message: `target logits have ${r.targetLogits.length} entries; the draft's vocabulary has ${config.vocabSize}. Distil a draft with the target's tokenizer.`,
        });
      }
    }
  }
  const time = Math.max(...kept.map(({ rejected }) => rejected[rejected.length - 1].position));
  const rows = kept.length;
  const positions = kept.reduce((sum, { rejected }) => sum + rejected.length, 0);
  const inputs = new Int32Array(rows * time);
  const select = new Float32Array(positions * rows * time);
  const teacher = new Float32Array(positions * config.vocabSize);
  let p = 0;
  kept.forEach(({ sample, rejected }, row) => {
    const length = Math.min(time, sample.tokens.length);
    for (let t = 0; t < length; t++) inputs[row * time + t] = sample.tokens[t];
    for (const r of rejected) {
      // Logits at index position − 1 (having read tokens[0..position−1]) predict tokens[position].
      select[p * rows * time + row * time + r.position - 1] = 1;
      teacher.set(r.targetLogits, p * config.vocabSize);
      p++;
    }
  });
  return { inputs, rows, time, positions, select, teacher };
}
