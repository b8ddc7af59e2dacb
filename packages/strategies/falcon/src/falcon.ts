import {
  featureDrafter,
  matVec,
  requireWeights,
  siluInPlace,
  type Drafter,
  type TrainedFeatureDrafterOptions,
} from '@decodekit/core';
import { checkFalconWeights, type FalconWeights } from './falcon-weights.js';

/** Options of `falcon()`: the weights (`parseFalconWeights` of a file written by `decodekit train falcon`), the target's LM head, the tree sizes. */
export type FalconOptions = TrainedFeatureDrafterOptions<FalconWeights>;

/** What one drafter step hands to the next: a block to run, or the second token of the last block. */
type FalconState =
  | {
      readonly kind: 'block';
      /** f_{t-1} and f_t: the features before the block's two tokens (x_t, then the step's token x_{t+1}). */
      readonly previousFeature: Float32Array;
      readonly feature: Float32Array;
      readonly previousToken: number;
    }
  | {
      readonly kind: 'second';
      /** f̂_{t+1} and f̂_{t+2}: the block's two predicted features; the second drafts without the first token. */
      readonly first: Float32Array;
      readonly second: Float32Array;
      /** LM-head logits of `second`, computed once for all siblings. */
      logits?: Float32Array;
    };

/**
 * Falcon (Gao et al., 2024, https://arxiv.org/abs/2412.12639; code Bestpay-inc/Falcon): a semi-autoregressive
 * drafter. One forward reads a block of two (feature, token) pairs, (f_{t-1}, x_t) and (f_t, x_{t+1}), and
 * predicts the next two features f̂_{t+1} and f̂_{t+2} at once (Falcon's `k_mask = 2`: its output at
 * position p regresses the target's feature at p + 2); their LM-head distributions draft x_{t+2} and x_{t+3},
 * the second without knowing which x_{t+2} was drafted. The next forward reads the drafted block. Here the
 * drafter is `fc` plus two residual MLP layers over the block (Falcon uses two decoder layers with
 * attention: see the README), trained with coupled sequential glancing distillation (`decodekit train
 * falcon`). The tree is EAGLE-2's dynamic tree (core's `featureDrafter`), each block giving two depths, in
 * place of Falcon's hand-designed tree. Exact: rows carry no draft distribution.
 */
export function falcon({ weights, lmHead, ...tree }: FalconOptions): Drafter {
  requireWeights(weights, 'falcon', 'parseFalconWeights');
  checkFalconWeights(weights);
  const { vocabSize, hiddenSize: H, innerSize: I, tensors } = weights;
  const B = 2 * H;
  const input = new Float32Array(2 * B);
  const normed = new Float32Array(B);
  const inner = new Float32Array(I);
  const residual = new Float32Array(B);

  const layer = (z: Float32Array, norm: Float32Array, up: Float32Array, down: Float32Array) => {
    let sum = 0;
    for (let i = 0; i < B; i++) sum += z[i] * z[i];
    const scale = 1 / Math.sqrt(sum / B + 1e-6);
    for (let i = 0; i < B; i++) normed[i] = z[i] * scale * norm[i];
    siluInPlace(matVec(up, I, B, normed, inner));
    matVec(down, B, I, inner, residual);
    for (let i = 0; i < B; i++) z[i] += residual[i];
  };

  return featureDrafter<FalconState>({
    id: 'falcon',
    label: 'Falcon',
    weights,
    lmHead,
    history: 2,
    ...tree,
    network: table => {
      const embedding = (token: number) => table.subarray(token * H, (token + 1) * H);
      return {
        // The first step after the prefill knows one state only; it stands in for f_{t-1} too.
        initial: (hidden, tokens) => ({
          kind: 'block',
          previousFeature: hidden[Math.max(0, hidden.length - 2)],
          feature: hidden[hidden.length - 1],
          previousToken: tokens[Math.max(0, tokens.length - 2)],
        }),
        step(state, token, _depth, logits) {
          if (state.kind === 'second') {
            // The block's second token: the same distribution whichever first token was drafted.
            state.logits ??= matVec(table, vocabSize, H, state.second, new Float32Array(vocabSize));
            logits.set(state.logits);
            return {
              kind: 'block',
              previousFeature: state.first,
              feature: state.second,
              previousToken: token,
            };
          }
          input.set(embedding(state.previousToken), 0);
          input.set(state.previousFeature, H);
          input.set(embedding(token), B);
          input.set(state.feature, B + H);
          const z = matVec(
            tensors['fc.weight'],
            B,
            2 * B,
            input,
            new Float32Array(B),
            tensors['fc.bias'],
          );
          layer(z, tensors.norm1, tensors.up1, tensors.down1);
          layer(z, tensors.norm2, tensors.up2, tensors.down2);
          const first = z.slice(0, H);
          matVec(table, vocabSize, H, first, logits);
          return { kind: 'second', first, second: z.slice(H) };
        },
      };
    },
  });
}
