import { InvalidArgumentError } from '@decodekit/core';
import type { Dataset } from './dataset.js';
import type { LoopOptions } from './training-loop.js';
import { tf } from './tf-backend.js';

/** Splits sequences into training and held-out ranges (the last `holdout` fraction is held out). */
export function splitSequences(
  dataset: Dataset,
  holdout: number,
): { train: [number, number]; test: [number, number] } {
  const count = dataset.offsets.length - 1;
  const test = Math.min(count - 1, Math.max(1, Math.round(count * holdout)));
  return { train: [0, count - test], test: [count - test, count] };
}

/** Rows r of the given sequences whose token r + ahead + 1 still lies inside their sequence. */
export function positions(
  dataset: Dataset,
  sequences: [number, number],
  ahead: number,
): Int32Array {
  const rows: number[] = [];
  for (let s = sequences[0]; s < sequences[1]; s++) {
    for (let r = dataset.offsets[s]; r + ahead + 1 < dataset.offsets[s + 1]; r++) rows.push(r);
  }
  return Int32Array.from(rows);
}

/** The target's hidden states after tokens[r + offset] for each row r. [rows, hidden] */
export function hiddenAt(dataset: Dataset, rows: ArrayLike<number>, offset: number): tf.Tensor2D {
  const H = dataset.hiddenSize;
  const out = new Float32Array(rows.length * H);
  for (let i = 0; i < rows.length; i++)
    out.set(dataset.hidden.subarray((rows[i] + offset) * H, (rows[i] + offset + 1) * H), i * H);
  return tf.tensor2d(out, [rows.length, H]);
}

/** tokens[r + offset] for each row r. [rows] */
export function tokensAt(dataset: Dataset, rows: ArrayLike<number>, offset: number): tf.Tensor1D {
  return tf.tensor1d(
    Int32Array.from(rows, r => dataset.tokens[r + offset]),
    'int32',
  );
}

/** Throws InvalidArgumentError unless the LM head fits the dataset and each count is a positive integer. */
export function checkTrainingInputs(
  dataset: Dataset,
  lmHead: Float32Array,
  vocabSize: number,
  counts: Record<string, number>,
): void {
  if (lmHead.length !== vocabSize * dataset.hiddenSize)
    throw new InvalidArgumentError({
      argument: 'lmHead',
      message: `must hold vocab × hidden = ${vocabSize * dataset.hiddenSize} floats.`,
    });
  for (const [argument, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError({
        argument,
        message: `must be a positive integer, got ${value}.`,
      });
  }
}

/** The `training` record stored with trained weights: data recipe, loop settings, then the results. */
export function trainingRecord({
  dataset,
  options,
  trainPositions,
  heldOutPositions,
  settings,
  finalLoss,
  results,
}: {
  dataset: Dataset;
  options: LoopOptions;
  trainPositions: number;
  heldOutPositions: number;
  /** Method settings recorded after the loop's (unroll, noise, ...). */
  settings: Record<string, unknown>;
  finalLoss: number | undefined;
  results: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    data: {
      ...dataset.options,
      sequences: dataset.offsets.length - 1,
      trainPositions,
      heldOutPositions,
    },
    steps: options.steps,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    seed: options.seed,
    ...settings,
    backend: `tfjs-${options.backend}`,
    finalLoss,
    ...results,
  };
}

/** Held-out acceptance of greedy chains: top-1 of the first drafted token, mean accepted chain length. */
export interface HeldOutChains {
  top1: number;
  meanAcceptedChain: number;
}

/**
 * Scores held-out greedy chains: `begin(rows)` starts a chunk of chains from rows r; its `record(depth,
 * drafted)` compares the token drafted at `depth` (1-based) with the target's tokens[r + 1 + depth] and counts
 * the matching prefix of each chain. `result(chains)` averages over all chains.
 */
export function chainScorer(dataset: Dataset): {
  begin(rows: readonly number[]): (depth: number, drafted: ArrayLike<number>) => void;
  result(chains: number): HeldOutChains;
} {
  let accepted = 0;
  let top1 = 0;
  return {
    begin(rows) {
      const alive = rows.map(() => true);
      return (depth, drafted) => {
        rows.forEach((r, i) => {
          const match = drafted[i] === dataset.tokens[r + 1 + depth];
          if (depth === 1 && match) top1++;
          if (alive[i] && match) accepted++;
          else alive[i] = false;
        });
      };
    },
    result: chains => ({
      top1: top1 / Math.max(1, chains),
      meanAcceptedChain: accepted / Math.max(1, chains),
    }),
  };
}

/** The held-out entry of a `training` record (rounded to 4 digits). */
export function heldOutRecord(heldOut: HeldOutChains, depth: number): Record<string, unknown> {
  return {
    heldOut: {
      top1: Number(heldOut.top1.toFixed(4)),
      meanAcceptedChain: Number(heldOut.meanAcceptedChain.toFixed(4)),
      depth,
    },
  };
}
