import { InvalidArgumentError, ModelFormatError, seededRandom } from '@decodekit/core';
import { decodeFloats, encodeFloats } from '@decodekit/core';

/** A dense layer y = W x + b. */
export interface EagleLinear {
  /** [out, in] row-major. */
  readonly weight: Float32Array;
  /** [out] */
  readonly bias: Float32Array;
}

/**
 * The EAGLE drafter's weights: `fc` maps [token embedding; feature] (2·hidden) to hidden, then one residual
 * MLP block z + down(SiLU(up(z))) (inner width `innerSize`) predicts the next feature. Tokens come from the
 * target's LM head applied to the predicted feature.
 */
export interface EagleWeights {
  /** The target model the drafter was trained on (its `info.name`). */
  readonly model: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly innerSize: number;
  /** [hidden, 2·hidden] */
  readonly fc: EagleLinear;
  /** [inner, hidden] */
  readonly up: EagleLinear;
  /** [hidden, inner] */
  readonly down: EagleLinear;
  /** Free-form record of how the weights were made (command, data recipe, losses, held-out accuracy). */
  readonly training?: Record<string, unknown>;
}

const FORMAT = 'decodekit-eagle/1';

const encodeLinear = (layer: EagleLinear) => ({
  weight: encodeFloats(layer.weight),
  bias: encodeFloats(layer.bias),
});
const decodeLinear = (layer: { weight: string; bias: string } | undefined): EagleLinear => ({
  weight: decodeFloats(layer?.weight ?? ''),
  bias: decodeFloats(layer?.bias ?? ''),
});

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeEagleWeights(weights: EagleWeights): string {
  checkEagleWeights(weights);
  const { model, vocabSize, hiddenSize, innerSize, training } = weights;
  return `${JSON.stringify(
    {
      format: FORMAT,
      model,
      vocabSize,
      hiddenSize,
      innerSize,
      training,
      fc: encodeLinear(weights.fc),
      up: encodeLinear(weights.up),
      down: encodeLinear(weights.down),
    },
    null,
    1,
  )}\n`;
}

/** Parses what `serializeEagleWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseEagleWeights(
  json: string | Record<string, unknown>,
  source = 'EAGLE weights',
): EagleWeights {
  // oxlint-disable-next-line typescript/no-explicit-any -- parsed JSON, every field is checked below before use
  let data: Record<string, any>;
  try {
    data = typeof json === 'string' ? JSON.parse(json) : json;
  } catch (error) {
    throw new ModelFormatError({
      path: source,
      message: `not JSON (${(error as Error).message}); write them with \`decodekit train eagle\`.`,
    });
  }
  if (data?.format !== FORMAT) {
    throw new ModelFormatError({
      path: source,
      message: `must have format "${FORMAT}", got ${JSON.stringify(data?.format)}; write them with \`decodekit train eagle\`.`,
    });
  }
  const weights: EagleWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize,
    hiddenSize: data.hiddenSize,
    innerSize: data.innerSize,
    training: data.training,
    fc: decodeLinear(data.fc),
    up: decodeLinear(data.up),
    down: decodeLinear(data.down),
  };
  checkEagleWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the shapes do not fit together. */
export function checkEagleWeights(weights: EagleWeights): void {
  const { vocabSize, hiddenSize, innerSize } = weights;
  const fail = (message: string): never => {
    throw new InvalidArgumentError({ argument: 'weights', message });
  };
  for (const [name, value] of Object.entries({ vocabSize, hiddenSize, innerSize })) {
    if (!Number.isInteger(value) || value < 1)
      fail(`${name} must be a positive integer, got ${value}.`);
  }
  const layers: [string, EagleLinear, number, number][] = [
    ['fc', weights.fc, hiddenSize, 2 * hiddenSize],
    ['up', weights.up, innerSize, hiddenSize],
    ['down', weights.down, hiddenSize, innerSize],
  ];
  for (const [name, layer, rows, cols] of layers) {
    if (layer?.weight?.length !== rows * cols || layer.bias?.length !== rows)
      fail(`${name} must be ${rows}×${cols} with ${rows} biases.`);
  }
}

/** Random weights (tests and the untrained baseline): U(-scale, scale), zero biases. */
export function randomEagleWeights({
  vocabSize,
  hiddenSize,
  innerSize = 4 * hiddenSize,
  seed = 0,
  scale = 0.5,
}: {
  vocabSize: number;
  hiddenSize: number;
  innerSize?: number;
  seed?: number;
  scale?: number;
}): EagleWeights {
  const random = seededRandom(seed);
  const linear = (rows: number, cols: number): EagleLinear => ({
    weight: Float32Array.from({ length: rows * cols }, () => (random.next() * 2 - 1) * scale),
    bias: new Float32Array(rows),
  });
  return {
    model: 'random',
    vocabSize,
    hiddenSize,
    innerSize,
    fc: linear(hiddenSize, 2 * hiddenSize),
    up: linear(innerSize, hiddenSize),
    down: linear(hiddenSize, innerSize),
  };
}
