import { seededRandom, speculative, type Drafter } from '@decodekit/core';
import { runStrategyConformance, type StrategyConformanceOptions } from './strategy-conformance.js';

/** Options of `runTrainedDrafterConformance`. */
export interface TrainedDrafterConformanceOptions extends Omit<
  StrategyConformanceOptions,
  'strategy'
> {
  /** The drafter with the committed weights trained for stories260K (a fresh one per call). */
  trained: () => Drafter;
  /**
   * A drafter with random weights for a toy target of `vocabSize` tokens, whose hidden states are read
   * back through `lmHead`, a random LM head [vocabSize, 4]: exactness must not depend on draft quality.
   */
  random: (toy: { vocabSize: number; lmHead: Float32Array }) => Drafter;
}

/**
 * The strategy conformance suite for a drafter over the target's hidden states (Medusa, EAGLE, FSPAD, ...):
 * the trained drafter on stories260K, random ones (seeded by the vocabulary) on the toy models.
 */
export function runTrainedDrafterConformance({
  trained,
  random,
  ...options
}: TrainedDrafterConformanceOptions): void {
  // One random LM head per toy vocabulary; `random` makes a fresh drafter (seeded weights) per call.
  const lmHeads = new Map<number, Float32Array>();
  const toyDrafter = (vocabSize: number): Drafter => {
    let lmHead = lmHeads.get(vocabSize);
    if (!lmHead) {
      const stream = seededRandom(vocabSize);
      lmHead = Float32Array.from({ length: vocabSize * 4 }, () => stream.next() * 2 - 1);
      lmHeads.set(vocabSize, lmHead);
    }
    return random({ vocabSize, lmHead });
  };
  runStrategyConformance({
    ...options,
    strategy: ({ model, kind }) =>
      speculative({ drafter: kind === 'toy' ? toyDrafter(model.info.vocabSize) : trained() }),
  });
}
