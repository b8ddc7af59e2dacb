import {
  checkSparseTreePaths,
  InvalidArgumentError,
  ModelFormatError,
  decodeFloats,
  encodeFloats,
  seededRandom,
} from '@decodekit/core';

/** Trained prompt tokens for one target model, with the sparse tree built from their measured accuracy. */
export interface PpdWeights {
  /** The target model the prompt tokens were trained on (its `info.name`). */
  readonly model: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /**
   * Input embeddings of the prompt tokens [P1]..[Pk], `virtualTokens` rows each (prompt token major: row
   * i · m + j is virtual token j of [P(i+1)]). Appended after a token at position t, [Pi]'s virtual tokens
   * sit at position t + i and their averaged logits predict the token at t + i + 1. [k · m, hiddenSize]
   */
  readonly embeddings: Float32Array;
  /**
   * Virtual tokens per prompt token m (the paper's ensemble prompt tokens, `virtual_tokens_per_special_token`
   * with `vt_attention_type = ensemble`): virtual token j of [Pi] attends to the context and to virtual token
   * j of [P1]..[P(i-1)] only (m independent chains), and [Pi]'s logits are the mean of its m rows' logits.
   * Default 1 (one chain: [Pi] attends to [P1]..[P(i-1)]).
   */
  readonly virtualTokens?: number;
  /**
   * Sparse tree choices: each path lists top-k indices, one per depth. Depth 1 ranks the target's own
   * next-token logits, depth d ≥ 2 ranks prompt token [P(d-1)]'s. Ordered best first (parents before children).
   */
  readonly tree: readonly (readonly number[])[];
  /** Free-form record of how the weights were made (command, data recipe, losses, held-out accuracy). */
  readonly training?: Record<string, unknown>;
}

/** One virtual token per prompt token (files written before ensemble prompt tokens; still written for m = 1). */
const FORMAT_V1 = 'decodekit-ppd/1';
/** Adds `virtualTokens` (ensemble prompt tokens). */
const FORMAT_V2 = 'decodekit-ppd/2';

/** Virtual tokens per prompt token in `weights` (1 unless they are ensemble prompt tokens). */
export function virtualTokenCount(weights: PpdWeights): number {
  return weights.virtualTokens ?? 1;
}

/** Number of prompt tokens in `weights`. */
export function promptTokenCount(weights: PpdWeights): number {
  return weights.embeddings.length / weights.hiddenSize / virtualTokenCount(weights);
}

/** Serializes weights as JSON (float arrays as base64 of little-endian float32). */
export function serializePpdWeights(weights: PpdWeights): string {
  checkPpdWeights(weights);
  const virtualTokens = virtualTokenCount(weights);
  return `${JSON.stringify(
    {
      // Version 1 for one virtual token, so readers of version 1 still read those files.
      format: virtualTokens === 1 ? FORMAT_V1 : FORMAT_V2,
      model: weights.model,
      vocabSize: weights.vocabSize,
      hiddenSize: weights.hiddenSize,
      ...(virtualTokens === 1 ? {} : { virtualTokens }),
      tree: weights.tree,
      training: weights.training,
      embeddings: encodeFloats(weights.embeddings),
    },
    null,
    1,
  )}\n`;
}

/** Parses what `serializePpdWeights` wrote (a JSON string or the parsed object); `source` names the file in errors. */
export function parsePpdWeights(
  json: string | Record<string, unknown>,
  source = 'PPD weights',
): PpdWeights {
  let data: Record<string, unknown>;
  try {
    data = typeof json === 'string' ? (JSON.parse(json) as Record<string, unknown>) : json;
  } catch (error) {
    throw new ModelFormatError({
      path: source,
      message: `not JSON (${(error as Error).message}); write them with \`decodekit train ppd\`.`,
    });
  }
  const format = data?.format;
  if ((format !== FORMAT_V1 && format !== FORMAT_V2) || typeof data.embeddings !== 'string') {
    throw new ModelFormatError({
      path: source,
      message: `must have format "${FORMAT_V1}" or "${FORMAT_V2}" and base64 embeddings, got format ${JSON.stringify(format)}; write them with \`decodekit train ppd\`.`,
    });
  }
  if (format === FORMAT_V2 && typeof data.virtualTokens !== 'number') {
    throw new ModelFormatError({
      path: source,
      message: `format "${FORMAT_V2}" needs a numeric virtualTokens (virtual tokens per prompt token), got ${JSON.stringify(data.virtualTokens)}; write them with \`decodekit train ppd\`.`,
    });
  }
  const weights: PpdWeights = {
    model: String(data.model),
    vocabSize: data.vocabSize as number,
    hiddenSize: data.hiddenSize as number,
    ...(format === FORMAT_V2 ? { virtualTokens: data.virtualTokens as number } : {}),
    tree: data.tree as number[][],
    training: data.training as Record<string, unknown> | undefined,
    embeddings: decodeFloats(data.embeddings),
  };
  checkPpdWeights(weights);
  return weights;
}

/** Throws InvalidArgumentError when shapes or the tree do not fit together. */
export function checkPpdWeights(weights: PpdWeights): void {
  const { vocabSize, hiddenSize, embeddings } = weights;
  const virtualTokens = virtualTokenCount(weights);
  if (!Number.isInteger(virtualTokens) || virtualTokens < 1) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `virtualTokens (virtual tokens per prompt token) must be a positive integer, got ${virtualTokens}.`,
    });
  }
  if (
    !Number.isInteger(vocabSize) ||
    vocabSize < 2 ||
    !Number.isInteger(hiddenSize) ||
    hiddenSize < 1
  ) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `vocabSize and hiddenSize must be positive integers, got ${vocabSize} and ${hiddenSize}.`,
    });
  }
  if (
    !(embeddings instanceof Float32Array) ||
    embeddings.length === 0 ||
    embeddings.length % (hiddenSize * virtualTokens) !== 0 ||
    !embeddings.every(Number.isFinite)
  ) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `embeddings must hold k × ${virtualTokens} × ${hiddenSize} finite floats (k ≥ 1 prompt tokens of ${virtualTokens} virtual tokens).`,
    });
  }
  checkPpdTree(weights.tree, promptTokenCount(weights) + 1, vocabSize);
}

/** Checks tree choices: every path's prefix is listed before it, depth ≤ `maxDepth`, indices < vocab. */
export function checkPpdTree(
  tree: readonly (readonly number[])[],
  maxDepth: number,
  vocabSize: number,
): void {
  checkSparseTreePaths(
    tree,
    maxDepth,
    vocabSize,
    "one per depth: the target's next token, then one per prompt token",
  );
}

/** Random prompt embeddings (tests and the untrained baseline): U(-scale, scale), seeded. */
export function randomPpdWeights({
  vocabSize,
  hiddenSize,
  promptTokens = 3,
  virtualTokens = 1,
  seed = 0,
  scale = 0.5,
  tree = [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0], [0, 0, 0, 0]].filter(
    path => path.length <= promptTokens + 1,
  ),
}: {
  vocabSize: number;
  hiddenSize: number;
  promptTokens?: number;
  /** Virtual tokens per prompt token (ensemble prompt tokens). Default 1. */
  virtualTokens?: number;
  seed?: number;
  scale?: number;
  tree?: number[][];
}): PpdWeights {
  const random = seededRandom(seed);
  return {
    model: 'random',
    vocabSize,
    hiddenSize,
    tree,
    ...(virtualTokens === 1 ? {} : { virtualTokens }),
    embeddings: Float32Array.from(
      { length: promptTokens * virtualTokens * hiddenSize },
      () => (random.next() * 2 - 1) * scale,
    ),
  };
}
