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
 * The FSPAD drafter's tensors (row-major [out, in]; H = hidden, I = inner):
 * - `fc.weight` [H, 2H], `fc.bias` [H]: [token embedding; feature] → z (FSPAD's `Efc.fc`);
 * - `norm1` [H]; `emlp.gate` [I, H] (reads the token embedding), `emlp.up` [I, H], `emlp.down` [H, I]:
 *   feature sampling, z ← z + down(SiLU(gate(e)) ⊙ up(RMSNorm(z)));
 * - `norm2` [H]; `mlp.gate` [I, H], `mlp.up` [I, H], `mlp.down` [2H, I]: partial alignment,
 *   y = [z; z] + down(SiLU(gate(n)) ⊙ up(n)) with n = RMSNorm(z); y[:H] feeds the LM head, y[H:] is the
 *   regressed feature fed to the next step.
 */
export interface FspadWeights extends TrainedHeadHeader {
  readonly innerSize: number;
  readonly tensors: Readonly<Record<FspadTensor, Float32Array>>;
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

const KIND = { format: 'decodekit-fspad/1', id: 'fspad' };

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeFspadWeights(weights: FspadWeights): string {
  checkFspadWeights(weights);
  const { model, vocabSize, hiddenSize, innerSize, training } = weights;
  const tensors = Object.fromEntries(FSPAD_TENSORS.map(name => [name, weights.tensors[name]]));
  return serializeWeightsFile(KIND, {
    model,
    vocabSize,
    hiddenSize,
    innerSize,
    training,
    tensors,
  });
}

/** Parses what `serializeFspadWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseFspadWeights(
  json: string | Record<string, unknown>,
  source = 'FSPAD weights',
): FspadWeights {
  const data = readWeightsFile(KIND, json, source);
  const stored = (data.tensors ?? {}) as Record<string, unknown>;
  const weights: FspadWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    innerSize: data.innerSize as number,
    training: data.training as Record<string, unknown> | undefined,
    tensors: Object.fromEntries(
      FSPAD_TENSORS.map(name => [name, decodeTensor(stored[name])]),
    ) as Record<FspadTensor, Float32Array>,
  };
  checkFspadWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the shapes do not fit together. */
export function checkFspadWeights(weights: FspadWeights): void {
  const { vocabSize, hiddenSize, innerSize } = weights;
  checkPositiveSizes({ vocabSize, hiddenSize, innerSize });
  checkTensorShapes(weights.tensors ?? {}, fspadShapes(hiddenSize, innerSize));
}

/** Random weights (tests and the untrained baseline): U(-scale, scale) matrices, zero biases, unit norms. */
export function randomFspadWeights({
  vocabSize,
  hiddenSize,
  innerSize = 2 * hiddenSize,
  seed = 0,
  scale = 0.3,
}: RandomWeightsOptions): FspadWeights {
  const tensors = randomTensors(fspadShapes(hiddenSize, innerSize), {
    seed,
    scale,
    initial: name => (name.startsWith('norm') ? 'ones' : name === 'fc.bias' ? 'zeros' : 'uniform'),
  });
  return { model: 'random', vocabSize, hiddenSize, innerSize, tensors };
}
