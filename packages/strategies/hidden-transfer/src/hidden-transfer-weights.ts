import {
  checkPositiveSizes,
  checkSparseTreePaths,
  checkTensorShapes,
  decodeTensor,
  InvalidArgumentError,
  readWeightsFile,
  seededRandom,
  serializeWeightsFile,
  type TrainedHeadHeader,
} from '@decodekit/core';

/**
 * Trained Hidden Transfer projections for one target model, with the sparse tree built from their measured
 * accuracy. The projections read the target's state after its first `layer` layers (through the final
 * RMSNorm, as the graph's `hidden_states` output gives it) at the pending token, position t, and write k
 * pseudo hidden states for positions t + 1 .. t + k, which enter the target at layer `layer`.
 */
export interface HiddenTransferWeights extends TrainedHeadHeader {
  /** Transformer layers of the target (the split must leave at least one above it). */
  readonly numLayers: number;
  /** The split: pseudo states enter the target after its first `layer` layers (1 ≤ layer < numLayers). */
  readonly layer: number;
  /** Pseudo hidden states per draft (k); pseudo state i (1-based) predicts the token at t + i + 1. */
  readonly transfers: number;
  /** The k projections stacked: rows i·hidden .. (i + 1)·hidden - 1 write pseudo state i + 1. [k·hidden, hidden] */
  readonly weight: Float32Array;
  /** [k·hidden] */
  readonly bias: Float32Array;
  /**
   * Sparse tree choices: each path lists top-k indices, one per depth. Depth 1 ranks the target's own
   * next-token logits at the pending row, depth d ≥ 2 ranks pseudo state d - 1's. Best first (parents first).
   */
  readonly tree: readonly (readonly number[])[];
}

const KIND = { format: 'decodekit-hidden-transfer/1', id: 'hidden-transfer' };

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializeHiddenTransferWeights(weights: HiddenTransferWeights): string {
  checkHiddenTransferWeights(weights);
  const { model, vocabSize, hiddenSize, numLayers, layer, transfers, tree, training } = weights;
  return serializeWeightsFile(KIND, {
    model,
    vocabSize,
    hiddenSize,
    numLayers,
    layer,
    transfers,
    tree,
    training,
    weight: weights.weight,
    bias: weights.bias,
  });
}

/** Parses what `serializeHiddenTransferWeights` wrote (a JSON string or the parsed object); `source` names it in errors. */
export function parseHiddenTransferWeights(
  json: string | Record<string, unknown>,
  source = 'Hidden Transfer weights',
): HiddenTransferWeights {
  const data = readWeightsFile(KIND, json, source);
  const weights: HiddenTransferWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    numLayers: data.numLayers as number,
    layer: data.layer as number,
    transfers: data.transfers as number,
    tree: data.tree as number[][],
    training: data.training as Record<string, unknown> | undefined,
    weight: decodeTensor(data.weight),
    bias: decodeTensor(data.bias),
  };
  checkHiddenTransferWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when the sizes, the split, the shapes or the tree do not fit together. */
export function checkHiddenTransferWeights(weights: HiddenTransferWeights): void {
  const { vocabSize, hiddenSize, numLayers, layer, transfers } = weights;
  checkPositiveSizes({ vocabSize, hiddenSize, numLayers, transfers });
  if (!Number.isInteger(layer) || layer < 1 || layer >= numLayers) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `layer (the split) must be an integer in [1, ${numLayers - 1}] for a target of ${numLayers} layers, got ${layer}.`,
    });
  }
  checkTensorShapes(
    { weight: weights.weight, bias: weights.bias },
    { weight: [transfers * hiddenSize, hiddenSize], bias: [transfers * hiddenSize] },
  );
  if (!weights.weight.every(Number.isFinite) || !weights.bias.every(Number.isFinite)) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'the projections hold non-finite values; train them again.',
    });
  }
  checkHiddenTransferTree(weights.tree, transfers + 1, vocabSize);
}

/** Checks tree choices: every path's prefix is listed before it, depth ≤ `maxDepth`, indices < vocab. */
export function checkHiddenTransferTree(
  tree: readonly (readonly number[])[],
  maxDepth: number,
  vocabSize: number,
): void {
  checkSparseTreePaths(
    tree,
    maxDepth,
    vocabSize,
    "one per depth: the target's next token, then one per pseudo state",
  );
}

/** Random projections (tests and the untrained baseline): U(-scale, scale), zero bias, seeded. */
export function randomHiddenTransferWeights({
  vocabSize,
  hiddenSize,
  numLayers = 2,
  layer = 1,
  transfers = 3,
  seed = 0,
  scale = 0.5,
  tree = [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0], [0, 0, 0, 0]].filter(
    path => path.length <= transfers + 1,
  ),
}: {
  vocabSize: number;
  hiddenSize: number;
  numLayers?: number;
  layer?: number;
  transfers?: number;
  seed?: number;
  scale?: number;
  tree?: number[][];
}): HiddenTransferWeights {
  const random = seededRandom(seed);
  return {
    model: 'random',
    vocabSize,
    hiddenSize,
    numLayers,
    layer,
    transfers,
    tree,
    weight: Float32Array.from(
      { length: transfers * hiddenSize * hiddenSize },
      () => (random.next() * 2 - 1) * scale,
    ),
    bias: new Float32Array(transfers * hiddenSize),
  };
}
