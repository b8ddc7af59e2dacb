import { InvalidArgumentError } from '@decodekit/core';
import {
  checkExits,
  trainLlamaExits,
  type FineTuneLlamaOptions,
  type FineTuneLlamaResult,
  type TfLlamaConfig,
  type TfLlamaWeights,
} from './llama-tf.js';

/** Options of `sortedFineTune`. */
export interface SortedFineTuneOptions extends FineTuneLlamaOptions {
  /** Layer counts whose exits are trained (each the first k layers + final RMSNorm + shared head). Default 2..numLayers. */
  exits?: readonly number[];
  /**
   * Weight of each exit's loss (same order as `exits`; default 1 each, the plain sum). A larger weight on the full
   * model keeps it closer to where it started while the shallow exits learn.
   */
  exitWeights?: readonly number[];
}

/**
 * Sorted Fine-Tuning (SoFT; Kavehzadeh et al., "Sorted LLaMA", 2023, used by S2D, 2024): trains the nested
 * sub-models of one network together — the loss is the sum over `exits` of the next-token cross-entropy of the
 * final RMSNorm and the shared classifier applied after layer k — so that each prefix of layers is a usable
 * model (a draft) while the full model keeps its quality. Adam through `runLoop` (deterministic by seed,
 * resumable from `checkpoint`); sequences as in `fineTuneLlama`.
 * @param config the architecture
 * @param weights the starting weights (not modified)
 * @param sequences training sequences (token ids, each ≥ 2 tokens, ≤ the context length)
 * @param options loop options and the exits
 * @returns the trained weights (all layers) and the loss curve (summed over exits)
 */
export async function sortedFineTune(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  options: SortedFineTuneOptions,
): Promise<FineTuneLlamaResult> {
  const exits =
    options.exits ??
    Array.from({ length: Math.max(config.numLayers - 1, 1) }, (_, i) =>
      Math.min(i + 2, config.numLayers),
    );
  checkExits(exits, config.numLayers);
  return trainLlamaExits(config, weights, sequences, options, exits, options.exitWeights);
}

/**
 * The nested sub-model of the first `layers` layers with the shared final RMSNorm, embedding and classifier, as a
 * model of its own (`numLayers = layers`), e.g. for `writeLlama2cCheckpoint` and a model folder a draft loads.
 * @param config the architecture
 * @param weights its weights (per-layer tensors stacked on a leading axis; the result copies what it keeps)
 * @param layers how many of the first layers to keep, in [1, numLayers]
 */
export function nestedLlama(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  layers: number,
): { config: TfLlamaConfig; weights: TfLlamaWeights } {
  if (!Number.isInteger(layers) || layers < 1 || layers > config.numLayers) {
    throw new InvalidArgumentError({
      argument: 'layers',
      message: `must be an integer in [1, ${config.numLayers}], got ${String(layers)}.`,
    });
  }
  const firstLayers = (stacked: Float32Array) =>
    stacked.slice(0, (stacked.length / config.numLayers) * layers);
  return {
    config: { ...config, numLayers: layers },
    weights: {
      tokenEmbedding: weights.tokenEmbedding.slice(),
      rmsAtt: firstLayers(weights.rmsAtt),
      wq: firstLayers(weights.wq),
      wk: firstLayers(weights.wk),
      wv: firstLayers(weights.wv),
      wo: firstLayers(weights.wo),
      rmsFfn: firstLayers(weights.rmsFfn),
      w1: firstLayers(weights.w1),
      w2: firstLayers(weights.w2),
      w3: firstLayers(weights.w3),
      rmsFinal: weights.rmsFinal.slice(),
      ...(weights.wcls ? { wcls: weights.wcls.slice() } : {}),
    },
  };
}
