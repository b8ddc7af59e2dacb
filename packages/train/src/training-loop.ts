import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  InvalidArgumentError,
  ModelFormatError,
  decodeFloats,
  encodeFloats,
  invariant,
  seededRandom,
} from '@decodekit/core';
import { tf, useTrainBackend, type TrainBackend } from './tf-backend.js';

/** Options every training loop shares. */
export interface LoopOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  /**
   * Learning-rate schedule over the `steps`: 'constant' (default) or 'cosine' (decays from `learningRate` to 0
   * as ½ (1 + cos(π · step / steps)), the paper recipes' `lr_scheduler_type cosine` without warm-up).
   */
  schedule?: LearningRateSchedule;
  /** Seed of initialization, batch order and noise (same seed, same loss curve on one backend). */
  seed: number;
  backend: TrainBackend;
  /** Checkpoint file: resumed from when it exists, written every `checkpointEvery` steps and at the end. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Steps between loss reports (`onProgress`, the returned loss curve). Default 25. */
  logEvery?: number;
  onProgress?: (progress: TrainProgress) => void;
}

/** Learning-rate schedules of `LoopOptions.schedule`. */
export const LEARNING_RATE_SCHEDULES = ['constant', 'cosine'] as const;
export type LearningRateSchedule = (typeof LEARNING_RATE_SCHEDULES)[number];

/** The learning rate of `step` (0-based) of `steps` under `schedule`. */
export function scheduledLearningRate(
  learningRate: number,
  schedule: LearningRateSchedule,
  step: number,
  steps: number,
): number {
  return schedule === 'cosine'
    ? learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / steps))
    : learningRate;
}

/** Adam whose learning rate the loop sets before each step (tfjs keeps it in a protected field). */
class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    // tf.train.adam's defaults: β1 0.9, β2 0.999, the backend's epsilon.
    super(learningRate, 0.9, 0.999);
  }
  setLearningRate(learningRate: number): void {
    this.learningRate = learningRate;
  }
}

/** One progress report. */
export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  /** Training positions per second since this run started. */
  positionsPerSecond: number;
}

/** What a loop returns. */
export interface LoopResult {
  /** Loss at every logged step (every `logEvery`), resumed runs included. */
  losses: { step: number; loss: number }[];
  /** Final values of the variables. */
  values: Record<string, Float32Array>;
  positionsPerSecond: number;
  resumedFrom: number;
}

/** Checks the shared options (thrown at the start, not mid-run). */
export function checkLoopOptions(options: LoopOptions): void {
  const positive = (argument: string, value: number, integer = true) => {
    if (!(value > 0) || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive ${integer ? 'integer' : 'number'}, got ${value}.`,
      });
    }
  };
  positive('steps', options.steps);
  positive('batchSize', options.batchSize);
  positive('learningRate', options.learningRate, false);
  if (!Number.isSafeInteger(options.seed))
    throw new InvalidArgumentError({
      argument: 'seed',
      message: `must be an integer, got ${options.seed}.`,
    });
  if (options.checkpointEvery !== undefined) positive('checkpointEvery', options.checkpointEvery);
  if (options.schedule !== undefined && !LEARNING_RATE_SCHEDULES.includes(options.schedule))
    throw new InvalidArgumentError({
      argument: 'schedule',
      message: `must be one of ${LEARNING_RATE_SCHEDULES.join(', ')}, got ${JSON.stringify(options.schedule)}.`,
    });
  if (options.logEvery !== undefined) positive('logEvery', options.logEvery);
}

/** Uniform(-scale, scale) values from a seeded stream (deterministic initialization). */
export function seededUniform(length: number, scale: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => (random.next() * 2 - 1) * scale);
}

/** Batch `step` of a seeded shuffle of `count` samples: epoch e is the permutation seeded by seed + e. */
export function batchIndices(
  count: number,
  batchSize: number,
  step: number,
  seed: number,
  cache: Map<number, Int32Array>,
): Int32Array {
  const out = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const position = step * batchSize + i;
    const epoch = Math.floor(position / count);
    let order = cache.get(epoch);
    if (!order) {
      const random = seededRandom(seed + 7919 * (epoch + 1));
      order = Int32Array.from({ length: count }, (_, k) => k);
      for (let k = count - 1; k > 0; k--) {
        const j = Math.floor(random.next() * (k + 1));
        [order[k], order[j]] = [order[j], order[k]];
      }
      cache.clear();
      cache.set(epoch, order);
    }
    out[i] = order[position % count];
  }
  return out;
}

interface CheckpointFile {
  format: 'decodekit-train-checkpoint/1';
  kind: string;
  step: number;
  seed: number;
  variables: Record<string, string>;
  /** Adam's state: its iteration count (int32, kept as numbers) and moments (float32, base64). */
  optimizer: {
    name: string;
    shape: number[];
    dtype: 'float32' | 'int32';
    values: string | number[];
  }[];
  losses: { step: number; loss: number }[];
}

/**
 * Adam on the given variables for `steps` batches. `lossOf(indices, step)` builds the batch's scalar loss
 * (inside `tf.tidy`). Resumes from `checkpoint` when it exists (variables, Adam moments, step, loss log),
 * so a resumed run follows the same curve as an uninterrupted one. `afterStep(step)` (steps done so far)
 * may end the loop early by returning true (early stopping); the checkpoint is then written at that step.
 */
export async function runLoop({
  kind,
  variables,
  sampleCount,
  lossOf,
  options,
  afterStep,
}: {
  kind: string;
  variables: Record<string, tf.Variable>;
  sampleCount: number;
  lossOf: (indices: Int32Array, step: number) => tf.Scalar;
  options: LoopOptions;
  afterStep?: (step: number) => boolean | Promise<boolean>;
}): Promise<LoopResult> {
  checkLoopOptions(options);
  const logEvery = options.logEvery ?? 25;
  await useTrainBackend(options.backend);
  if (sampleCount < options.batchSize) {
    throw new InvalidArgumentError({
      argument: 'batchSize',
      message: `${options.batchSize} is more than the ${sampleCount} training samples; generate more data or lower it.`,
    });
  }
  const optimizer = new ScheduledAdam(options.learningRate);
  const schedule = options.schedule ?? 'constant';
  const varList = Object.values(variables);
  let start = 0;
  let losses: { step: number; loss: number }[] = [];
  if (options.checkpoint && existsSync(options.checkpoint)) {
    const saved = JSON.parse(readFileSync(options.checkpoint, 'utf8')) as CheckpointFile;
    if (
      saved.format !== 'decodekit-train-checkpoint/1' ||
      saved.kind !== kind ||
      saved.seed !== options.seed
    ) {
      throw new ModelFormatError({
        path: options.checkpoint,
        message: `is not a ${kind} checkpoint of seed ${options.seed}; delete it or pass another --checkpoint.`,
      });
    }
    for (const [name, variable] of Object.entries(variables))
      variable.assign(tf.tensor(decodeFloats(saved.variables[name]), variable.shape));
    await optimizer.setWeights(
      saved.optimizer.map(({ name, shape, dtype, values }) => ({
        name,
        tensor:
          typeof values === 'string'
            ? tf.tensor(decodeFloats(values), shape)
            : tf.tensor(values, shape, dtype),
      })),
    );
    start = saved.step;
    losses = saved.losses;
  }
  const save = async (step: number) => {
    if (!options.checkpoint) return;
    const optimizerWeights = await optimizer.getWeights();
    const file: CheckpointFile = {
      format: 'decodekit-train-checkpoint/1',
      kind,
      step,
      seed: options.seed,
      variables: Object.fromEntries(
        Object.entries(variables).map(([name, variable]) => [
          name,
          encodeFloats(variable.dataSync() as Float32Array),
        ]),
      ),
      optimizer: optimizerWeights.map(({ name, tensor }) =>
        tensor.dtype === 'float32'
          ? {
              name,
              shape: tensor.shape,
              dtype: 'float32' as const,
              values: encodeFloats(tensor.dataSync() as Float32Array),
            }
          : {
              name,
              shape: tensor.shape,
              dtype: 'int32' as const,
              values: Array.from(tensor.dataSync()),
            },
      ),
      losses,
    };
    mkdirSync(dirname(options.checkpoint), { recursive: true });
    writeFileSync(`${options.checkpoint}.partial`, JSON.stringify(file));
    renameSync(`${options.checkpoint}.partial`, options.checkpoint);
  };

  const cache = new Map<number, Int32Array>();
  const began = performance.now();
  let positionsPerSecond = 0;
  let end = options.steps;
  for (let step = start; step < options.steps; step++) {
    const indices = batchIndices(sampleCount, options.batchSize, step, options.seed, cache);
    optimizer.setLearningRate(
      scheduledLearningRate(options.learningRate, schedule, step, options.steps),
    );
    const cost = optimizer.minimize(() => lossOf(indices, step), true, varList);
    if (step % logEvery === logEvery - 1 || step === options.steps - 1) {
      invariant(cost, 'minimize(returnCost = true) returns the cost');
      const loss = (await cost.data())[0];
      losses.push({ step: step + 1, loss });
      positionsPerSecond =
        ((step + 1 - start) * options.batchSize) / ((performance.now() - began) / 1000);
      options.onProgress?.({ step: step + 1, steps: options.steps, loss, positionsPerSecond });
    }
    cost?.dispose();
    if (options.checkpointEvery && (step + 1) % options.checkpointEvery === 0) await save(step + 1);
    if (afterStep && (await afterStep(step + 1))) {
      end = step + 1;
      break;
    }
  }
  if (start < end) await save(end);
  const values = Object.fromEntries(
    Object.entries(variables).map(([name, variable]) => [
      name,
      Float32Array.from(variable.dataSync() as Float32Array),
    ]),
  );
  optimizer.dispose();
  return { losses, values, positionsPerSecond, resumedFrom: start };
}
