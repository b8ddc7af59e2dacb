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
export interface EagleWeights extends TrainedHeadHeader {
  readonly innerSize: number;
  /** [hidden, 2·hidden] */
  readonly fc: EagleLinear;
  /** [inner, hidden] */
  readonly up: EagleLinear;
  /** [hidden, inner] */
  readonly down: EagleLinear;
}

const KIND = { format: 'decodekit-eagle/1', id: 'eagle' };
const LAYERS = ['fc', 'up', 'down'] as const;

/** Shapes of every tensor, by `layer.weight` / `layer.bias` name. */
function eagleShapes(hiddenSize: number, innerSize: number) {
  const H = hiddenSize;
  return {
    'fc.weight': [H, 2 * H],
    'fc.bias': [H],
    'up.weight': [innerSize, H],
    'up.bias': [innerSize],
    'down.weight': [H, innerSize],
    'down.bias': [H],
  } as const;
}

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeEagleWeights(weights: EagleWeights): string {
  checkEagleWeights(weights);
  const { model, vocabSize, hiddenSize, innerSize, training, fc, up, down } = weights;
  return serializeWeightsFile(KIND, {
    model,
    vocabSize,
    hiddenSize,
    innerSize,
    training,
    fc: { weight: fc.weight, bias: fc.bias },
    up: { weight: up.weight, bias: up.bias },
    down: { weight: down.weight, bias: down.bias },
  });
}

/** Parses what `serializeEagleWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseEagleWeights(
  json: string | Record<string, unknown>,
  source = 'EAGLE weights',
): EagleWeights {
  const data = readWeightsFile(KIND, json, source);
  const layer = (name: (typeof LAYERS)[number]): EagleLinear => {
    const fields = data[name] as { weight?: unknown; bias?: unknown } | undefined;
    return { weight: decodeTensor(fields?.weight), bias: decodeTensor(fields?.bias) };
  };
  const weights: EagleWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    innerSize: data.innerSize as number,
    training: data.training as Record<string, unknown> | undefined,
    fc: layer('fc'),
    up: layer('up'),
    down: layer('down'),
  };
  checkEagleWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the shapes do not fit together. */
export function checkEagleWeights(weights: EagleWeights): void {
  const { vocabSize, hiddenSize, innerSize } = weights;
  checkPositiveSizes({ vocabSize, hiddenSize, innerSize });
  checkTensorShapes(
    Object.fromEntries(
      LAYERS.flatMap(name => [
        [`${name}.weight`, weights[name]?.weight],
        [`${name}.bias`, weights[name]?.bias],
      ]),
    ),
    eagleShapes(hiddenSize, innerSize),
  );
}

/** Random weights (tests and the untrained baseline): U(-scale, scale), zero biases. */
export function randomEagleWeights({
  vocabSize,
  hiddenSize,
  innerSize = 4 * hiddenSize,
  seed = 0,
  scale = 0.5,
}: RandomWeightsOptions): EagleWeights {
  const tensors = randomTensors(eagleShapes(hiddenSize, innerSize), {
    seed,
    scale,
    initial: name => (name.endsWith('.bias') ? 'zeros' : 'uniform'),
  });
  const layer = (name: (typeof LAYERS)[number]): EagleLinear => ({
    weight: tensors[`${name}.weight`],
    bias: tensors[`${name}.bias`],
  });
  return {
    model: 'random',
    vocabSize,
    hiddenSize,
    innerSize,
    fc: layer('fc'),
    up: layer('up'),
    down: layer('down'),
  };
}
