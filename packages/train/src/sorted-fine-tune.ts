import { InvalidArgumentError } from '@decodekit/core';
import {
  checkExits,
  trainLlamaExits,
  type ExitTrainingResult,
  type ExitValidation,
  type FineTuneLlamaOptions,
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
  /**
   * Self-distillation share α in [0, 1]: each exit's loss becomes (1 − α) · CE(next token) + α · KL(p₀ ‖ q_exit),
   * where p₀ is the starting model's (all layers) distribution at that position. The full exit's target is then
   * the starting model itself, so it stays near its own distribution while the shallow exits learn it.
   * Default 0: hard labels only, as the paper.
   */
  distillation?: number;
  /**
   * Early stopping on held-out full-model perplexity: validated every `every` steps; the run returns the weights
   * of the last validation within `maxFullIncrease` of the starting perplexity. Not with `checkpoint`.
   */
  validation?: ExitValidation;
}

/**
 * Sorted Fine-Tuning (SoFT; Kavehzadeh et al., "Sorted LLaMA", 2023, used by S2D, 2024): trains the nested
 * sub-models of one network together — the loss is the sum over `exits` of the next-token cross-entropy of the
 * final RMSNorm and the shared classifier applied after layer k — so that each prefix of layers is a usable
 * model (a draft) while the full model keeps its quality. Adam through `runLoop` (deterministic by seed,
 * resumable from `checkpoint`); sequences as in `fineTuneLlama`. Beyond the paper: `distillation` trains the
 * exits toward the starting model's soft distribution, `validation` stops early on the full model's perplexity.
 * @param config the architecture
 * @param weights the starting weights (not modified)
 * @param sequences training sequences (token ids, each ≥ 2 tokens, ≤ the context length)
 * @param options loop options and the exits
 * @returns the trained weights (all layers; the chosen validation's with `validation`), the loss curve (summed
 *   over exits) and the validations
 */
export async function sortedFineTune(
  config: TfLlamaConfig,
  weights: TfLlamaWeights,
  sequences: readonly (readonly number[])[],
  options: SortedFineTuneOptions,
): Promise<ExitTrainingResult> {
  const exits =
    options.exits ??
    Array.from({ length: Math.max(config.numLayers - 1, 1) }, (_, i) =>
      Math.min(i + 2, config.numLayers),
    );
  checkExits(exits, config.numLayers);
  return trainLlamaExits(config, weights, sequences, options, exits, {
    exitWeights: options.exitWeights,
    distillation: options.distillation,
    validation: options.validation,
  });
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
