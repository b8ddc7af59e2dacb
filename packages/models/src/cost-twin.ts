import { InvalidArgumentError } from '@decodekit/core';
import type { LlamaConfig, LlamaWeights } from './llama-config.js';
import { seededRandom } from './seeded-random.js';

/**
 * Cost twins: a function-preserving widening of a Llama-2 checkpoint. The SwiGLU MLP of every layer gets
 * extra hidden units whose down-projection (w2) columns are zero and whose gate and up rows (w1, w3) are
 * seeded random, so `w2 · (silu(w1 x) ⊙ w3 x)` is unchanged while every forward pays for the wider matmuls:
 * the twin computes the original's function at the cost of a model of the target size. Benchmarks use twins
 * to show speculative decoding in the regime where a forward costs what a real model's does.
 */

/** What a twin's `config.json` records under `decodekit.twin`. */
export interface CostTwinInfo {
  /** The model whose function the twin computes, e.g. `stories260K`. */
  readonly of: string;
  /** The requested size as written (`100M`). */
  readonly target: string;
  /** Parameters of the twin (tied embeddings counted once). */
  readonly parameters: number;
  /** Parameters of the original. */
  readonly original_parameters: number;
  /** The original's MLP width; units beyond it have zero down-projection columns. */
  readonly original_intermediate_size: number;
  /** Seed of the random gate/up rows of the added units. */
  readonly seed: number;
  /** How reports name the twin: `stories260K function, 100M-parameter cost`. */
  readonly label: string;
}

/** A twin's architecture: the original's, with a wider MLP. */
export interface CostTwinPlan {
  readonly config: LlamaConfig;
  readonly parameters: number;
  readonly originalParameters: number;
}

const SUFFIXES: Record<string, number> = { K: 1e3, M: 1e6, B: 1e9 };

/** MLP widths are rounded to this many units (friendlier GEMM shapes; < 0.1% off the target). */
const WIDTH_QUANTUM = 64;

/**
 * Parses a twin size such as `25M`, `100M`, `400M`, `1.5B` or a plain parameter count.
 *
 * @throws InvalidArgumentError when the text is not a positive size
 */
export function parseTwinSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMB]?)$/i.exec(text.trim());
  const value = match ? Number(match[1]) * (SUFFIXES[match[2].toUpperCase()] ?? 1) : Number.NaN;
  if (!Number.isFinite(value) || value < 1) {
    throw new InvalidArgumentError({
      argument: 'twin',
      message: `"${text}" is not a parameter count; write e.g. 25M, 100M or 400M.`,
    });
  }
  return Math.round(value);
}

/** Parameters of a Llama-2 model (a tied classifier counted once, as llama2.c does). */
export function llamaParameterCount(config: LlamaConfig): number {
  const { vocabSize: v, dim: d, hiddenDim: h, numLayers: l } = config;
  const kv = (d * config.numKvHeads) / config.numHeads;
  const perLayer = 2 * d + 2 * d * d + 2 * kv * d + 3 * d * h;
  return v * d * (config.tiedEmbeddings ? 1 : 2) + l * perLayer + d;
}

/**
 * The widened architecture whose parameter count is closest to `targetParameters` (MLP width a multiple of
 * 64 units).
 *
 * @throws InvalidArgumentError when the target is not larger than the original
 */
export function planCostTwin(config: LlamaConfig, targetParameters: number): CostTwinPlan {
  const originalParameters = llamaParameterCount(config);
  const perUnit = 3 * config.dim * config.numLayers;
  const units = (targetParameters - originalParameters) / perUnit;
  const hiddenDim =
    config.hiddenDim + Math.max(WIDTH_QUANTUM, Math.round(units / WIDTH_QUANTUM) * WIDTH_QUANTUM);
  if (targetParameters <= originalParameters || units < WIDTH_QUANTUM / 2) {
    throw new InvalidArgumentError({
      argument: 'twin',
      message:
        `a twin must be larger than the original (${originalParameters} parameters), got ${targetParameters}. ` +
        'Ask for a bigger size, e.g. 25M.',
    });
  }
  const twin = { ...config, hiddenDim };
  return { config: twin, parameters: llamaParameterCount(twin), originalParameters };
}

/** `stories260K function, 100M-parameter cost`. */
export function costTwinLabel(of: string, target: string): string {
  return `${of} function, ${target}-parameter cost`;
}

/**
 * The twin facts recorded in a model folder's `config.json` (`decodekit.twin`), or undefined when the
 * folder holds no twin.
 */
export function readCostTwinInfo(
  config: Readonly<Record<string, unknown>>,
): CostTwinInfo | undefined {
  const decodekit = config.decodekit as { twin?: Partial<CostTwinInfo> } | undefined;
  const twin = decodekit?.twin;
  if (!twin || typeof twin.of !== 'string' || typeof twin.target !== 'string') return undefined;
  return {
    of: twin.of,
    target: twin.target,
    parameters: Number(twin.parameters),
    original_parameters: Number(twin.original_parameters),
    original_intermediate_size: Number(twin.original_intermediate_size),
    seed: Number(twin.seed ?? 0),
    label: typeof twin.label === 'string' ? twin.label : costTwinLabel(twin.of, twin.target),
  };
}

/** The two fused MLP tensors of one twin layer, in the graph's layout, produced in row chunks. */
export interface TwinMlpLayer {
  /** `layers.{i}.w13` [dim, 2 * twinHidden]: one chunk per input row (gate columns, then up columns). */
  readonly w13: () => Iterable<Float32Array>;
  /** `layers.{i}.w2` [twinHidden, dim]: the original rows, then zero rows, in chunks. */
  readonly w2: () => Iterable<Float32Array>;
}

function standardDeviation(values: Float32Array): number {
  let sum = 0;
  let squares = 0;
  for (const value of values) {
    sum += value;
    squares += value * value;
  }
  const mean = sum / Math.max(1, values.length);
  return Math.sqrt(Math.max(0, squares / Math.max(1, values.length) - mean * mean));
}

/** Zero rows of w2 are written in chunks of about this many floats. */
const ZERO_CHUNK_FLOATS = 1 << 18;

/**
 * Layer `layer`'s widened MLP weights of a twin, generated lazily chunk by chunk so a conversion holds one
 * row at a time. The added units' gate and up weights are uniform with the standard deviation of the
 * original layer's w1 / w3 (seeded per layer), so their activations stay finite and multiply zero
 * down-projection weights.
 */
export function twinMlpLayer(
  original: { config: LlamaConfig; weights: LlamaWeights },
  twinHidden: number,
  layer: number,
  seed: number,
): TwinMlpLayer {
  const { dim, hiddenDim } = original.config;
  const size = hiddenDim * dim;
  const w1 = original.weights.w1.subarray(layer * size, (layer + 1) * size); // [hidden, dim]
  const w3 = original.weights.w3.subarray(layer * size, (layer + 1) * size); // [hidden, dim]
  const w2 = original.weights.w2.subarray(layer * size, (layer + 1) * size); // [dim, hidden]
  const added = twinHidden - hiddenDim;
  // Uniform on [-a, a] has standard deviation a / sqrt(3).
  const gateScale = Math.sqrt(3) * standardDeviation(w1);
  const upScale = Math.sqrt(3) * standardDeviation(w3);
  return {
    *w13() {
      const random = seededRandom((seed * 0x9e3779b1 + layer + 1) >>> 0);
      const row = new Float32Array(2 * twinHidden);
      for (let input = 0; input < dim; input++) {
        for (let unit = 0; unit < hiddenDim; unit++) {
          row[unit] = w1[unit * dim + input];
          row[twinHidden + unit] = w3[unit * dim + input];
        }
        for (let unit = 0; unit < added; unit++) {
          row[hiddenDim + unit] = gateScale * (2 * random.next() - 1);
          row[twinHidden + hiddenDim + unit] = upScale * (2 * random.next() - 1);
        }
        yield row;
      }
    },
    *w2() {
      const kept = new Float32Array(hiddenDim * dim);
      for (let unit = 0; unit < hiddenDim; unit++) {
        for (let output = 0; output < dim; output++)
          kept[unit * dim + output] = w2[output * hiddenDim + unit];
      }
      yield kept;
      const zeroRows = Math.max(1, Math.floor(ZERO_CHUNK_FLOATS / dim));
      const zeros = new Float32Array(zeroRows * dim);
      for (let unit = 0; unit < added; unit += zeroRows) {
        yield zeros.subarray(0, Math.min(zeroRows, added - unit) * dim);
      }
    },
  };
}
