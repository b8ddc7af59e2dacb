import {
  checkSparseTreePaths,
  decodeTensor,
  InvalidArgumentError,
  readWeightsFile,
  seededRandom,
  serializeWeightsFile,
  type TrainedHeadHeader,
} from '@decodekit/core';

/** One Medusa head: a residual block h + SiLU(W h + b), then its own LM head (or the target's). */
export interface MedusaHead {
  /** [hidden, hidden] row-major (out × in). */
  readonly weight: Float32Array;
  /** [hidden] */
  readonly bias: Float32Array;
  /** The head's own LM head [vocab, hidden]; absent: the target's LM head. */
  readonly lmHead?: Float32Array;
}

/** Trained Medusa heads for one target model, with the sparse tree built from their measured accuracy. */
export interface MedusaWeights extends TrainedHeadHeader {
  /** Head i (0-based) predicts the token i + 2 positions after the hidden state's position. */
  readonly heads: readonly MedusaHead[];
  /**
   * Medusa's sparse tree choices: each path lists top-k indices, one per depth (head), e.g. [0, 1] = the
   * best token of head 1 followed by the second-best of head 2. Ordered best first (parents before children).
   */
  readonly tree: readonly (readonly number[])[];
}

const KIND = { format: 'decodekit-medusa/1', id: 'medusa' };

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeMedusaWeights(weights: MedusaWeights): string {
  checkMedusaWeights(weights);
  return serializeWeightsFile(KIND, {
    model: weights.model,
    vocabSize: weights.vocabSize,
    hiddenSize: weights.hiddenSize,
    tree: weights.tree,
    training: weights.training,
    heads: weights.heads.map(({ weight, bias, lmHead }) => ({ weight, bias, lmHead })),
  });
}

/** Parses what `serializeMedusaWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseMedusaWeights(
  json: string | Record<string, unknown>,
  source = 'Medusa weights',
): MedusaWeights {
  const data = readWeightsFile(KIND, json, source);
  const heads = Array.isArray(data.heads) ? (data.heads as Record<string, unknown>[]) : [];
  const weights: MedusaWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    tree: data.tree as number[][],
    training: data.training as Record<string, unknown> | undefined,
    heads: heads.map(head => ({
      weight: decodeTensor(head.weight),
      bias: decodeTensor(head.bias),
      lmHead: head.lmHead === undefined ? undefined : decodeTensor(head.lmHead),
    })),
  };
  checkMedusaWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when shapes or the tree do not fit together. */
export function checkMedusaWeights(weights: MedusaWeights): void {
  const { vocabSize, hiddenSize, heads, tree } = weights;
  const fail = (message: string): never => {
    throw new InvalidArgumentError({ argument: 'weights', message });
  };
  if (
    !Number.isInteger(vocabSize) ||
    vocabSize < 2 ||
    !Number.isInteger(hiddenSize) ||
    hiddenSize < 1
  ) {
    fail(`vocabSize and hiddenSize must be positive integers, got ${vocabSize} and ${hiddenSize}.`);
  }
  if (!Array.isArray(heads) || heads.length === 0) fail('needs at least one head.');
  heads.forEach((head, index) => {
    if (head.weight?.length !== hiddenSize * hiddenSize)
      fail(`head ${index}: weight must hold ${hiddenSize}×${hiddenSize} floats.`);
    if (head.bias?.length !== hiddenSize)
      fail(`head ${index}: bias must hold ${hiddenSize} floats.`);
    if (head.lmHead !== undefined && head.lmHead.length !== vocabSize * hiddenSize) {
      fail(`head ${index}: lmHead must hold ${vocabSize}×${hiddenSize} floats.`);
    }
  });
  checkTree(tree, heads.length, vocabSize);
}

/** Checks Medusa tree choices: every path's prefix is listed before it, depths ≤ heads, indices < vocab. */
export function checkTree(
  tree: readonly (readonly number[])[],
  heads: number,
  vocabSize: number,
): void {
  checkSparseTreePaths(tree, heads, vocabSize, 'one per head');
}

/** Random heads (tests and the untrained baseline): weights ~ U(-scale, scale), zero bias, own LM heads when asked. */
export function randomMedusaWeights({
  vocabSize,
  hiddenSize,
  heads = 3,
  seed = 0,
  scale = 0.5,
  ownLmHead = false,
  tree = [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0]].filter(path => path.length <= heads),
}: {
  vocabSize: number;
  hiddenSize: number;
  heads?: number;
  seed?: number;
  scale?: number;
  ownLmHead?: boolean;
  tree?: number[][];
}): MedusaWeights {
  const random = seededRandom(seed);
  const uniform = (length: number) =>
    Float32Array.from({ length }, () => (random.next() * 2 - 1) * scale);
  return {
    model: 'random',
    vocabSize,
    hiddenSize,
    tree,
    heads: Array.from({ length: heads }, () => ({
      weight: uniform(hiddenSize * hiddenSize),
      bias: new Float32Array(hiddenSize),
      lmHead: ownLmHead ? uniform(vocabSize * hiddenSize) : undefined,
    })),
  };
}
