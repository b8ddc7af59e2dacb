import type { CausalLM } from '@decodekit/core';
import {
  collectAcceptanceSamples,
  evaluateAcceptanceHead,
  fitAcceptanceHead,
} from './fit-acceptance-head.js';

/** Fits a SpecDec++ acceptance head on the pair's own generations and returns it with its calibration. */
export async function fitHeadForPair({
  target,
  draft,
  prompts,
  holdout,
  temperature,
  rejectionWeight,
}: {
  target: CausalLM;
  draft: CausalLM;
  prompts: string[];
  holdout: number;
  temperature: number;
  rejectionWeight: number;
}) {
  const train = prompts.slice(0, Math.max(1, prompts.length - holdout));
  const test = prompts.slice(train.length);
  const { head, samples } = await fitAcceptanceHead({
    target,
    draft,
    prompts: train,
    temperature,
    rejectionWeight,
  });
  const heldOut =
    test.length > 0
      ? await collectAcceptanceSamples({ target, draft, prompts: test, temperature })
      : [];
  const calibration =
    heldOut.length > 0
      ? evaluateAcceptanceHead(head, heldOut)
      : evaluateAcceptanceHead(head, samples);
  return { head, calibration, trainSamples: samples.length, heldOutSamples: heldOut.length };
}
