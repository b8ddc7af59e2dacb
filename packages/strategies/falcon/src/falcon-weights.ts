import {
  checkPositiveSizes,
  checkTensorShapes,
  decodeTensor,
  randomTensors,
  readWeightsFile,
  serializeWeightsFile,
  type RandomWeightsOptions,
  type TrainedHeadHeader,
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
export interface FalconWeights extends TrainedHeadHeader {
  readonly innerSize: number;
  readonly tensors: Readonly<Record<FalconTensor, Float32Array>>;
}

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

const KIND = { format: 'decodekit-falcon/1', id: 'falcon' };

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeFalconWeights(weights: FalconWeights): string {
  checkFalconWeights(weights);
  const { model, vocabSize, hiddenSize, innerSize, training } = weights;
  const tensors = Object.fromEntries(FALCON_TENSORS.map(name => [name, weights.tensors[name]]));
  return serializeWeightsFile(KIND, {
    model,
    vocabSize,
    hiddenSize,
    innerSize,
    training,
    tensors,
  });
}

/** Parses what `serializeFalconWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseFalconWeights(
  json: string | Record<string, unknown>,
  source = 'Falcon weights',
): FalconWeights {
  const data = readWeightsFile(KIND, json, source);
  const stored = (data.tensors ?? {}) as Record<string, unknown>;
  const weights: FalconWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    innerSize: data.innerSize as number,
    training: data.training as Record<string, unknown> | undefined,
    tensors: Object.fromEntries(
      FALCON_TENSORS.map(name => [name, decodeTensor(stored[name])]),
    ) as Record<FalconTensor, Float32Array>,
  };
  checkFalconWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the shapes do not fit together. */
export function checkFalconWeights(weights: FalconWeights): void {
  const { vocabSize, hiddenSize, innerSize } = weights;
  checkPositiveSizes({ vocabSize, hiddenSize, innerSize });
  checkTensorShapes(weights.tensors ?? {}, falconShapes(hiddenSize, innerSize));
}

/** Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms. */
export function randomFalconWeights({
  vocabSize,
  hiddenSize,
  innerSize = 4 * hiddenSize,
  seed = 0,
  scale = 0.3,
}: RandomWeightsOptions): FalconWeights {
  const tensors = randomTensors(falconShapes(hiddenSize, innerSize), {
    seed,
    scale,
    initial: name => (name.startsWith('norm') ? 'ones' : name === 'fc.bias' ? 'zeros' : 'uniform'),
  });
  return { model: 'random', vocabSize, hiddenSize, innerSize, tensors };
}
