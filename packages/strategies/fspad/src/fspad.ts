import {
  featureDrafter,
  matVec,
  requireWeights,
  siluInPlace,
  type Drafter,
  type TrainedFeatureDrafterOptions,
} from '@decodekit/core';
import { checkFspadWeights, type FspadWeights } from './fspad-weights.js';

/** Options of `fspad()`: the weights (`parseFspadWeights` of a file written by `decodekit train fspad`), the target's LM head, the tree sizes. */
export type FspadOptions = TrainedFeatureDrafterOptions<FspadWeights>;

/**
 * FSPAD (Gui et al., 2024, code: Luc4Gui/FSPAD): an EAGLE-style feature drafter with two changes.
 * Feature sampling: after `fc([e; f])` a gated MLP whose gate reads the token embedding e,
 * z + down(SiLU(gate(e)) ⊙ up(RMSNorm(z))), samples the feature with the token. Partial alignment: the last
 * block outputs two halves, [z; z] + down(SiLU(gate(n)) ⊙ up(n)); the first feeds the LM head (trained on
 * the token loss), the second regresses the target's next feature (SmoothL1) and is what the next drafter
 * step reads, so the token objective and the feature objective no longer compete for one vector.
 * Drafting, the EAGLE-2 dynamic tree and verification are core's `featureDrafter`, as in
 * `@decodekit/strategy-eagle`; like that package the drafter has no attention layer (see the README).
 * Exact: rows carry no draft distribution.
 */
export function fspad({ weights, lmHead, ...tree }: FspadOptions): Drafter {
  requireWeights(weights, 'fspad', 'parseFspadWeights');
  checkFspadWeights(weights);
  const { vocabSize, hiddenSize: H, innerSize: I, tensors } = weights;
  const input = new Float32Array(2 * H);
  const normed = new Float32Array(H);
  const gate = new Float32Array(I);
  const up = new Float32Array(I);
  const down = new Float32Array(2 * H);

  const rmsNorm = (x: Float32Array, weight: Float32Array) => {
    let sum = 0;
    for (let i = 0; i < H; i++) sum += x[i] * x[i];
    const scale = 1 / Math.sqrt(sum / H + 1e-6);
    for (let i = 0; i < H; i++) normed[i] = x[i] * scale * weight[i];
    return normed;
  };

  return featureDrafter<Float32Array>({
    id: 'fspad',
    label: 'FSPAD',
    weights,
    lmHead,
    ...tree,
    network: table => ({
      initial: hidden => hidden[hidden.length - 1],
      // The LM-head half drafts the next token; the regressed half is the feature the next step reads.
      step(feature, token, _depth, logits) {
        const embedding = table.subarray(token * H, (token + 1) * H);
        input.set(embedding, 0);
        input.set(feature, H);
        const z = matVec(
          tensors['fc.weight'],
          H,
          2 * H,
          input,
          new Float32Array(H),
          tensors['fc.bias'],
        );
        // Feature sampling: the gate reads the token embedding.
        siluInPlace(matVec(tensors['emlp.gate'], I, H, embedding, gate));
        matVec(tensors['emlp.up'], I, H, rmsNorm(z, tensors.norm1), up);
        for (let i = 0; i < I; i++) gate[i] *= up[i];
        matVec(tensors['emlp.down'], H, I, gate, down);
        for (let i = 0; i < H; i++) z[i] += down[i];
        // Partial alignment: [z; z] + down(SiLU(gate(n)) ⊙ up(n)), split into the LM-head half and the regressed half.
        const n = rmsNorm(z, tensors.norm2);
        siluInPlace(matVec(tensors['mlp.gate'], I, H, n, gate));
        matVec(tensors['mlp.up'], I, H, n, up);
        for (let i = 0; i < I; i++) gate[i] *= up[i];
        matVec(tensors['mlp.down'], 2 * H, I, gate, down);
        const head = new Float32Array(H);
        const next = new Float32Array(H);
        for (let i = 0; i < H; i++) {
          head[i] = z[i] + down[i];
          next[i] = z[i] + down[H + i];
        }
        matVec(table, vocabSize, H, head, logits);
        return next;
      },
    }),
  });
}
