import {
  tensorMapWeightsFormat,
  type RandomWeightsOptions,
  type TensorMapWeights,
} from '@decodekit/core';

/**
 * The FSPAD drafter's tensors (row-major [out, in]; H = hidden, I = inner):
 * - `fc.weight` [H, 2H], `fc.bias` [H]: [token embedding; feature] → z (FSPAD's `Efc.fc`);
 * - `norm1` [H]; `emlp.gate` [I, H] (reads the token embedding), `emlp.up` [I, H], `emlp.down` [H, I]:
 *   feature sampling, z ← z + down(SiLU(gate(e)) ⊙ up(RMSNorm(z)));
 * - `norm2` [H]; `mlp.gate` [I, H], `mlp.up` [I, H], `mlp.down` [2H, I]: partial alignment,
 *   y = [z; z] + down(SiLU(gate(n)) ⊙ up(n)) with n = RMSNorm(z); y[:H] feeds the LM head, y[H:] is the
 *   regressed feature fed to the next step.
 */
export type FspadWeights = TensorMapWeights<FspadTensor>;

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

const FORMAT = tensorMapWeightsFormat({
  kind: { format: 'decodekit-fspad/1', id: 'fspad' },
  label: 'FSPAD weights',
  names: FSPAD_TENSORS,
  shapes: fspadShapes,
  defaultInnerSize: hiddenSize => 2 * hiddenSize,
  initial: name => (name.startsWith('norm') ? 'ones' : name === 'fc.bias' ? 'zeros' : 'uniform'),
});

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export const serializeFspadWeights: (weights: FspadWeights) => string = FORMAT.serialize;

/** Parses what `serializeFspadWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export const parseFspadWeights: (
  json: string | Record<string, unknown>,
  source?: string,
) => FspadWeights = FORMAT.parse;

/** Throws InvalidArgumentError when the shapes do not fit together. */
export const checkFspadWeights: (weights: FspadWeights) => void = FORMAT.check;

/** Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms; inner width 2 × hidden by default. */
export const randomFspadWeights: (options: RandomWeightsOptions) => FspadWeights = FORMAT.random;
