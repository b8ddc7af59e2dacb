import {
  tensorMapWeightsFormat,
  type RandomWeightsOptions,
  type TensorMapWeights,
} from '@decodekit/core';

/**
 * The Falcon drafter's tensors (row-major [out, in]; H = hidden, I = inner). One forward reads a block of two
 * positions, [e(x_t); f_{t-1}; e(x_{t+1}); f_t] (4H), and predicts the next two features:
 * - `fc.weight` [2H, 4H], `fc.bias` [2H]: the block input → z = [z_1; z_2];
 * - two residual MLP layers over the block, z ← z + down(SiLU(up(RMSNorm(z)))): `norm1` [2H], `up1` [I, 2H],
 *   `down1` [2H, I]; `norm2`, `up2`, `down2` likewise (Falcon's drafter is about two decoder layers);
 * - the result splits into f̂_{t+1} = z[:H] and f̂_{t+2} = z[H:], whose LM-head distributions draft
 *   x_{t+2} and x_{t+3}.
 */
export type FalconWeights = TensorMapWeights<FalconTensor>;

export const FALCON_TENSORS = [
  'fc.weight',
  'fc.bias',
  'norm1',
  'up1',
  'down1',
  'norm2',
  'up2',
  'down2',
] as const;
export type FalconTensor = (typeof FALCON_TENSORS)[number];

/** Shapes of every tensor for a hidden size and inner size. */
export function falconShapes(
  hiddenSize: number,
  innerSize: number,
): Record<FalconTensor, [number] | [number, number]> {
  const B = 2 * hiddenSize;
  return {
    'fc.weight': [B, 2 * B],
    'fc.bias': [B],
    norm1: [B],
    up1: [innerSize, B],
    down1: [B, innerSize],
    norm2: [B],
    up2: [innerSize, B],
    down2: [B, innerSize],
  };
}

const FORMAT = tensorMapWeightsFormat({
  kind: { format: 'decodekit-falcon/1', id: 'falcon' },
  label: 'Falcon weights',
  names: FALCON_TENSORS,
  shapes: falconShapes,
  defaultInnerSize: hiddenSize => 4 * hiddenSize,
  initial: name => (name.startsWith('norm') ? 'ones' : name === 'fc.bias' ? 'zeros' : 'uniform'),
});

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export const serializeFalconWeights: (weights: FalconWeights) => string = FORMAT.serialize;

/** Parses what `serializeFalconWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export const parseFalconWeights: (
  json: string | Record<string, unknown>,
  source?: string,
) => FalconWeights = FORMAT.parse;

/** Throws InvalidArgumentError when the shapes do not fit together. */
export const checkFalconWeights: (weights: FalconWeights) => void = FORMAT.check;

/** Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms; inner width 4 × hidden by default. */
export const randomFalconWeights: (options: RandomWeightsOptions) => FalconWeights = FORMAT.random;
