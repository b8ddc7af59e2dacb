import { InvalidArgumentError, ModelFormatError, seededRandom } from '@decodekit/core';
import { decodeFloats, encodeFloats } from '@decodekit/core';

/**
 * The FSPAD drafter's tensors (row-major [out, in]; H = hidden, I = inner):
 * - `fc.weight` [H, 2H], `fc.bias` [H]: [token embedding; feature] → z (FSPAD's `Efc.fc`);
 * - `norm1` [H]; `emlp.gate` [I, H] (reads the token embedding), `emlp.up` [I, H], `emlp.down` [H, I]:
 *   feature sampling, z ← z + down(SiLU(gate(e)) ⊙ up(RMSNorm(z)));
 * - `norm2` [H]; `mlp.gate` [I, H], `mlp.up` [I, H], `mlp.down` [2H, I]: partial alignment,
 *   y = [z; z] + down(SiLU(gate(n)) ⊙ up(n)) with n = RMSNorm(z); y[:H] feeds the LM head, y[H:] is the
 *   regressed feature fed to the next step.
 */
export interface FspadWeights {
  /** The target model the drafter was trained on (its `info.name`). */
  readonly model: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly innerSize: number;
  readonly tensors: Readonly<Record<FspadTensor, Float32Array>>;
  /** Free-form record of how the weights were made (command, data recipe, losses, held-out accuracy). */
  readonly training?: Record<string, unknown>;
}

export const FSPAD_TENSORS = [
  'fc.weight',
  'fc.bias',
  'norm1',
  'emlp.gate',
  'emlp.up',
  'emlp.down',
  'norm2',
  'mlp.gate',
  'mlp.up',
  'mlp.down',
] as const;
export type FspadTensor = (typeof FSPAD_TENSORS)[number];

/** Shapes of every tensor for a hidden size and inner size. */
export function fspadShapes(
  hiddenSize: number,
  innerSize: number,
): Record<FspadTensor, [number] | [number, number]> {
  const H = hiddenSize;
  const I = innerSize;
  return {
    'fc.weight': [H, 2 * H],
    'fc.bias': [H],
    norm1: [H],
    'emlp.gate': [I, H],
    'emlp.up': [I, H],
    'emlp.down': [H, I],
    norm2: [H],
    'mlp.gate': [I, H],
    'mlp.up': [I, H],
    'mlp.down': [2 * H, I],
  };
}

const FORMAT = 'decodekit-fspad/1';

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeFspadWeights(weights: FspadWeights): string {
  checkFspadWeights(weights);
  const { model, vocabSize, hiddenSize, innerSize, training } = weights;
  const tensors = Object.fromEntries(
    FSPAD_TENSORS.map(name => [name, encodeFloats(weights.tensors[name])]),
  );
  return `${JSON.stringify({ format: FORMAT, model, vocabSize, hiddenSize, innerSize, training, tensors }, null, 1)}\n`;
}

/** Parses what `serializeFspadWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseFspadWeights(
  json: string | Record<string, unknown>,
  source = 'FSPAD weights',
): FspadWeights {
  // oxlint-disable-next-line typescript/no-explicit-any -- parsed JSON, every field is checked below before use
  let data: Record<string, any>;
  try {
    data = typeof json === 'string' ? JSON.parse(json) : json;
  } catch (error) {
    throw new ModelFormatError({
      path: source,
      message: `not JSON (${(error as Error).message}); write them with \`decodekit train fspad\`.`,
    });
  }
  if (data?.format !== FORMAT) {
    throw new ModelFormatError({
      path: source,
      message: `must have format "${FORMAT}", got ${JSON.stringify(data?.format)}; write them with \`decodekit train fspad\`.`,
    });
  }
  const tensors = Object.fromEntries(
    FSPAD_TENSORS.map(name => [name, decodeFloats(data.tensors?.[name] ?? '')]),
  ) as Record<FspadTensor, Float32Array>;
  const weights: FspadWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize,
    hiddenSize: data.hiddenSize,
    innerSize: data.innerSize,
    training: data.training,
    tensors,
  };
  checkFspadWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the shapes do not fit together. */
export function checkFspadWeights(weights: FspadWeights): void {
  const { vocabSize, hiddenSize, innerSize } = weights;
  for (const [name, value] of Object.entries({ vocabSize, hiddenSize, innerSize })) {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must be a positive integer, got ${value}.`,
      });
  }
  const shapes = fspadShapes(hiddenSize, innerSize);
  for (const name of FSPAD_TENSORS) {
    const size = shapes[name].reduce((a, b) => a * b, 1);
    if (weights.tensors?.[name]?.length !== size) {
      throw new InvalidArgumentError({
        argument: 'weights',
        message: `${name} must hold ${shapes[name].join('×')} = ${size} floats.`,
      });
    }
  }
}

/** Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms. */
export function randomFspadWeights({
  vocabSize,
  hiddenSize,
  innerSize = 2 * hiddenSize,
  seed = 0,
  scale = 0.3,
}: {
  vocabSize: number;
  hiddenSize: number;
  innerSize?: number;
  seed?: number;
  scale?: number;
}): FspadWeights {
  const random = seededRandom(seed);
  const shapes = fspadShapes(hiddenSize, innerSize);
  const tensors = Object.fromEntries(
    FSPAD_TENSORS.map(name => {
      const size = shapes[name].reduce((a, b) => a * b, 1);
      if (name.startsWith('norm')) return [name, new Float32Array(size).fill(1)];
      if (name === 'fc.bias') return [name, new Float32Array(size)];
      return [name, Float32Array.from({ length: size }, () => (random.next() * 2 - 1) * scale)];
    }),
  ) as Record<FspadTensor, Float32Array>;
  return { model: 'random', vocabSize, hiddenSize, innerSize, tensors };
}
