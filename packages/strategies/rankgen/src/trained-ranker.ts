import {
  decodeFloats,
  encodeFloats,
  invariant,
  InvalidArgumentError,
  ModelFormatError,
  UnsupportedCapabilityError,
  type CausalLM,
} from '@decodekit/core';
import type { RankGenScorer } from './rankgen.js';

/**
 * A trained RankGen-style ranker: a dual encoder over a causal LM's final hidden states. A text's features are
 * the mean and the last of the LM's hidden states over `[BOS, ...text]` (2·hidden values); the prefix and the
 * suffix each get their own linear projection, and the score is their dot product, as RankGen scores
 * `enc("pre " + prefix) · enc("suffi " + continuation)`. Trained contrastively (gold continuation against model
 * samples and other documents' continuations) by `@decodekit/train`'s `trainRanker`.
 */
export interface RankerWeights {
  /** Name of the LM whose hidden states are the features (checked against the scoring model). */
  encoder: string;
  hiddenSize: number;
  /** Width of the shared embedding space. */
  dim: number;
  /** Prefix projection, row-major [dim × 2·hiddenSize]. */
  prefix: Float32Array;
  /** Suffix projection, row-major [dim × 2·hiddenSize]. */
  suffix: Float32Array;
}

/** `RankerWeights` as JSON (floats as base64 little-endian float32). */
export interface RankerWeightsJSON {
  format: 'decodekit-rankgen-ranker/1';
  encoder: string;
  hiddenSize: number;
  dim: number;
  prefix: string;
  suffix: string;
}

/** Serializes ranker weights. */
export function rankerWeightsToJSON(weights: RankerWeights): RankerWeightsJSON {
  return {
    format: 'decodekit-rankgen-ranker/1',
    encoder: weights.encoder,
    hiddenSize: weights.hiddenSize,
    dim: weights.dim,
    prefix: encodeFloats(weights.prefix),
    suffix: encodeFloats(weights.suffix),
  };
}

/**
 * Reads ranker weights written by `rankerWeightsToJSON` (a `ModelFormatError` names what is wrong).
 * @param json the parsed file
 * @param path shown in errors
 */
export function rankerWeightsFromJSON(json: unknown, path = 'ranker weights'): RankerWeights {
  const file = json as Partial<RankerWeightsJSON> | undefined;
  if (file?.format !== 'decodekit-rankgen-ranker/1') {
    throw new ModelFormatError({
      path,
      message:
        'is not a decodekit RankGen ranker (format "decodekit-rankgen-ranker/1"); train one with packages/strategies/rankgen/scripts/train-ranker.ts.',
    });
  }
  const { encoder, hiddenSize, dim } = file;
  if (
    typeof encoder !== 'string' ||
    !Number.isInteger(hiddenSize) ||
    !Number.isInteger(dim) ||
    typeof file.prefix !== 'string' ||
    typeof file.suffix !== 'string'
  ) {
    throw new ModelFormatError({
      path,
      message: 'needs encoder, hiddenSize, dim, prefix and suffix.',
    });
  }
  const prefix = decodeFloats(file.prefix);
  const suffix = decodeFloats(file.suffix);
  const size = (dim as number) * 2 * (hiddenSize as number);
  if (prefix.length !== size || suffix.length !== size) {
    throw new ModelFormatError({
      path,
      message: `projections must hold dim × 2·hiddenSize = ${size} floats (got ${prefix.length} and ${suffix.length}).`,
    });
  }
  return { encoder, hiddenSize: hiddenSize as number, dim: dim as number, prefix, suffix };
}

/**
 * The ranker's features of one text: mean and last of `model`'s final hidden states over `[BOS, ...ids]`.
 * @param model a causal LM that returns hidden states
 * @param ids the text's token ids (no BOS)
 * @param signal aborts the forward
 */
export async function rankerFeatures(
  model: CausalLM,
  ids: readonly number[],
  signal?: AbortSignal,
): Promise<Float32Array> {
  if (!model.capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId: model.capabilities.backendId,
      hint: "The trained ranker reads the model's hidden states: load it with a backend that returns them (onnx).",
    });
  }
  const bos = model.info.bosTokenId;
  const tokens = bos === undefined ? [...ids] : [bos, ...ids];
  const room = model.info.contextLength;
  const input = tokens.length > room ? tokens.slice(tokens.length - room) : tokens;
  const width = model.info.hiddenSize;
  const features = new Float32Array(2 * width);
  if (input.length === 0) return features;
  const sequence = model.createSequence();
  try {
    const { hidden } = await sequence.forward(
      { tokens: Int32Array.from(input), hidden: true },
      { signal },
    );
    invariant(hidden !== undefined, 'forward({ hidden: true }) returns hidden states');
    const rows = input.length;
    for (let r = 0; r < rows; r++)
      for (let k = 0; k < width; k++) features[k] += hidden[r * width + k] / rows;
    features.set(hidden.subarray((rows - 1) * width, rows * width), width);
    return features;
  } finally {
    sequence.dispose();
  }
}

/** `projection · features` for a row-major [dim × features.length] projection. */
export function project(
  projection: Float32Array,
  features: Float32Array,
  dim: number,
): Float32Array {
  const out = new Float32Array(dim);
  const n = features.length;
  for (let d = 0; d < dim; d++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += projection[d * n + k] * features[k];
    out[d] = sum;
  }
  return out;
}

/**
 * RankGen with a trained ranker: scores each candidate by `P·f(prefix) · S·f(candidate)` where `f` are the
 * decoded model's hidden-state features (`rankerFeatures`) and `P`, `S` the trained projections. The prefix is
 * encoded once per prompt; each candidate costs one forward of its own tokens.
 *
 * @example
 * const ranker = rankerWeightsFromJSON(JSON.parse(readFileSync('ranker.json', 'utf8')));
 * createDecoder({ model }).use(rankgen({ scorer: trainedRankerScorer({ weights: ranker }) }));
 * @param options the trained weights
 */
export function trainedRankerScorer(options: { weights: RankerWeights }): RankGenScorer {
  const { weights } = options ?? ({} as { weights: RankerWeights });
  if (!weights?.prefix || !weights.suffix || !(weights.dim > 0)) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'needs RankerWeights (rankerWeightsFromJSON(file)).',
    });
  }
  let cached: { prompt: readonly number[]; embedding: Float32Array } | undefined;
  return {
    name: `ranker(${weights.encoder})`,
    async score({ model, prompt, candidates, signal }) {
      if (model.info.hiddenSize !== weights.hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'weights',
          message: `the ranker was trained on "${weights.encoder}" (hidden ${weights.hiddenSize}) but the model "${model.info.name}" has hidden size ${model.info.hiddenSize}: train a ranker for this model.`,
        });
      }
      if (cached?.prompt !== prompt) {
        const features = await rankerFeatures(model, stripBos(model, prompt), signal);
        cached = { prompt, embedding: project(weights.prefix, features, weights.dim) };
      }
      const scores = new Float64Array(candidates.length);
      for (const [i, candidate] of candidates.entries()) {
        const features = await rankerFeatures(model, candidate.tokens, signal);
        const embedding = project(weights.suffix, features, weights.dim);
        let dot = 0;
        for (let d = 0; d < weights.dim; d++) dot += embedding[d] * cached.embedding[d];
        scores[i] = dot;
      }
      return scores;
    },
    end() {
      cached = undefined;
    },
  };
}

function stripBos(model: CausalLM, prompt: readonly number[]): readonly number[] {
  return prompt[0] === model.info.bosTokenId ? prompt.slice(1) : prompt;
}
