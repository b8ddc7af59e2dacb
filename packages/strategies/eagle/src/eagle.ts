import {
  featureDrafter,
  matVec,
  requireWeights,
  siluInPlace,
  type Drafter,
  type TrainedFeatureDrafterOptions,
} from '@decodekit/core';
import { checkEagleWeights, type EagleWeights } from './eagle-weights.js';

/** Options of `eagle()`: the weights (`parseEagleWeights` of a file written by `decodekit train eagle`), the target's LM head, the tree sizes. */
export type EagleOptions = TrainedFeatureDrafterOptions<EagleWeights>;

/**
 * EAGLE (Li et al., 2024, https://arxiv.org/abs/2401.15077) with EAGLE-2's dynamic draft tree
 * (https://arxiv.org/abs/2406.16858, core's `featureDrafter`). The drafter works on features, the target's
 * final hidden states: from the feature f_t of the row that produced the pending token x_{t+1} and the
 * embedding of x_{t+1} it predicts f_{t+1}, whose LM-head distribution drafts x_{t+2}; the predicted feature
 * and the drafted token feed the next step. Here the drafter is `fc` plus one residual MLP block (EAGLE's
 * single decoder layer without its attention: see the README).
 *
 * f_t is read back from the verification logits through the LM head's pseudo-inverse (the engine hands
 * drafters logits, not hidden states); the first step of a generation drafts nothing. Exact: rows carry no
 * draft distribution.
 */
export function eagle({ weights, lmHead, ...tree }: EagleOptions): Drafter {
  requireWeights(weights, 'eagle', 'parseEagleWeights');
  checkEagleWeights(weights);
  const { vocabSize, hiddenSize, innerSize, fc, up, down } = weights;
  const input = new Float32Array(2 * hiddenSize);
  const inner = new Float32Array(innerSize);
  const residual = new Float32Array(hiddenSize);
  return featureDrafter<Float32Array>({
    id: 'eagle',
    label: 'EAGLE',
    weights,
    lmHead,
    ...tree,
    network: table => ({
      initial: hidden => hidden[hidden.length - 1],
      // The feature after `token` given the feature before it; its LM-head logits draft the next token.
      step(feature, token, _depth, logits) {
        input.set(table.subarray(token * hiddenSize, (token + 1) * hiddenSize), 0);
        input.set(feature, hiddenSize);
        const z = matVec(
          fc.weight,
          hiddenSize,
          2 * hiddenSize,
          input,
          new Float32Array(hiddenSize),
          fc.bias,
        );
        siluInPlace(matVec(up.weight, innerSize, hiddenSize, z, inner, up.bias));
        matVec(down.weight, hiddenSize, innerSize, inner, residual, down.bias);
        for (let i = 0; i < hiddenSize; i++) z[i] += residual[i];
        matVec(table, vocabSize, hiddenSize, z, logits);
        return z;
      },
    }),
  });
}
