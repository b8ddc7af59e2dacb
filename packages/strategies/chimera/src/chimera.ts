import {
  featureDrafter,
  matVec,
  requireWeights,
  siluInPlace,
  type Drafter,
  type TrainedFeatureDrafterOptions,
} from '@decodekit/core';
import { checkChimeraWeights, type ChimeraWeights } from './chimera-weights.js';

/** Options of `chimera()`: the weights (`parseChimeraWeights` of a file written by `decodekit train chimera`), the target's LM head, the tree sizes. */
export type ChimeraOptions = TrainedFeatureDrafterOptions<ChimeraWeights>;

/** What one drafter step hands to the next. */
interface ChimeraState {
  /** h_t: the target's hidden state of the row that produced the pending token (every head reads it). */
  readonly anchor: Float32Array;
  /** Keys of the fusing layer: the target's last hidden states, then the features drafted on this path. */
  readonly keys: readonly Float32Array[];
  /** The two tokens before the next one (the first two thirds of its trigram). */
  readonly previous: readonly [number, number];
}

/** RMSNorm (eps 1e-6) of `x` scaled by `weight`, into `out`. */
function rmsNorm(x: Float32Array, weight: Float32Array, out: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  const scale = 1 / Math.sqrt(sum / x.length + 1e-6);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * scale * weight[i];
  return out;
}

/**
 * Rotary position embedding (HF Llama's rotate-half convention) of each head of `x` in place, at `position`.
 * [attentionHeads · headSize]
 */
export function applyRope(
  x: Float32Array,
  position: number,
  attentionHeads: number,
  base = 10_000,
): Float32Array {
  const headSize = x.length / attentionHeads;
  const half = headSize / 2;
  for (let head = 0; head < attentionHeads; head++) {
    const offset = head * headSize;
    for (let i = 0; i < half; i++) {
      const angle = position / base ** ((2 * i) / headSize);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = x[offset + i];
      const b = x[offset + half + i];
      x[offset + i] = a * cos - b * sin;
      x[offset + half + i] = b * cos + a * sin;
    }
  }
  return x;
}

/**
 * Chimera (Zeng et al., 2024, https://arxiv.org/abs/2402.15758; code kafkayu/Chimera): a lightweight draft
 * model that fuses the target's hidden states with short-range token context. A trigram MLP
 * (ResBlock(3h) + Linear(3h → h)) encodes [e_{t-1}; e_t; e_{t+1}]; one Llama decoder layer whose query is that
 * trigram feature attends to the target's last hidden states (and itself) and predicts the target's hidden
 * state after x_{t+1}; head k, Linear(2h → vocab) initialised as [W_lm, W_lm], maps [h_t; f̂] to the token at
 * depth k + 1. Deeper steps append the drafted feature to the keys and move the trigram on, as the official
 * `headgenerate` does; the tree is EAGLE-2's dynamic tree (core's `featureDrafter`) instead of Chimera's
 * full top-k expansion. Exact: rows carry no draft distribution.
 */
export function chimera({ weights, lmHead, ...tree }: ChimeraOptions): Drafter {
  requireWeights(weights, 'chimera', 'parseChimeraWeights');
  checkChimeraWeights(weights);
  const {
    vocabSize,
    hiddenSize: H,
    innerSize: I,
    attentionHeads,
    heads,
    window,
    tensors,
  } = weights;
  const headSize = H / attentionHeads;
  const trigram = new Float32Array(3 * H);
  const residual = new Float32Array(3 * H);
  const normed = new Float32Array(H);
  const query = new Float32Array(H);
  const attended = new Float32Array(H);
  const projected = new Float32Array(H);
  const gate = new Float32Array(I);
  const up = new Float32Array(I);
  const down = new Float32Array(H);
  const anchored = new Float32Array(2 * H);

  return featureDrafter<ChimeraState>({
    id: 'chimera',
    label: 'Chimera',
    weights,
    lmHead,
    history: window,
    ...tree,
    network: table => {
      // Key and value projections of a key feature, cached: the target's states recur across steps.
      const projections = new WeakMap<Float32Array, { key: Float32Array; value: Float32Array }>();
      const project = (feature: Float32Array) => {
        let cached = projections.get(feature);
        if (!cached) {
          const n = rmsNorm(feature, tensors['attn.norm'], new Float32Array(H));
          cached = {
            key: matVec(tensors['attn.k'], H, H, n, new Float32Array(H)),
            value: matVec(tensors['attn.v'], H, H, n, new Float32Array(H)),
          };
          projections.set(feature, cached);
        }
        return cached;
      };
      const embedding = (token: number) => table.subarray(token * H, (token + 1) * H);
      return {
        initial(hidden, tokens) {
          const at = (back: number) => tokens[Math.max(0, tokens.length - back)];
          return {
            anchor: hidden[hidden.length - 1],
            keys: hidden.slice(-window),
            previous: [at(3), at(2)],
          };
        },
        step(state, token, depth, logits) {
          // Trigram MLP: g = W_out (x + SiLU(W x + b)), x = [e_{t-1}; e_t; e_{t+1}].
          trigram.set(embedding(state.previous[0]), 0);
          trigram.set(embedding(state.previous[1]), H);
          trigram.set(embedding(token), 2 * H);
          siluInPlace(
            matVec(
              tensors['tri.res.weight'],
              3 * H,
              3 * H,
              trigram,
              residual,
              tensors['tri.res.bias'],
            ),
          );
          for (let i = 0; i < 3 * H; i++) residual[i] += trigram[i];
          const g = matVec(tensors['tri.out'], H, 3 * H, residual, new Float32Array(H));
          // Fusing layer: attention of g over [keys; g] (key i at position i, g last), then the MLP.
          const keys = [...state.keys, g].map(project);
          const position = keys.length - 1;
          applyRope(
            matVec(tensors['attn.q'], H, H, rmsNorm(g, tensors['attn.norm'], normed), query),
            position,
            attentionHeads,
          );
          const rotated = keys.map(({ key }, index) =>
            applyRope(Float32Array.from(key), index, attentionHeads),
          );
          attended.fill(0);
          const scores = new Float64Array(keys.length);
          for (let head = 0; head < attentionHeads; head++) {
            const offset = head * headSize;
            let max = -Infinity;
            for (let j = 0; j < keys.length; j++) {
              let dot = 0;
              for (let i = 0; i < headSize; i++) dot += query[offset + i] * rotated[j][offset + i];
              scores[j] = dot / Math.sqrt(headSize);
              if (scores[j] > max) max = scores[j];
            }
            let total = 0;
            for (let j = 0; j < keys.length; j++) total += scores[j] = Math.exp(scores[j] - max);
            for (let j = 0; j < keys.length; j++) {
              const weight = scores[j] / total;
              const { value } = keys[j];
              for (let i = 0; i < headSize; i++) attended[offset + i] += weight * value[offset + i];
            }
          }
          matVec(tensors['attn.o'], H, H, attended, projected);
          const feature = new Float32Array(H);
          for (let i = 0; i < H; i++) feature[i] = g[i] + projected[i];
          const n = rmsNorm(feature, tensors['mlp.norm'], normed);
          siluInPlace(matVec(tensors['mlp.gate'], I, H, n, gate));
          matVec(tensors['mlp.up'], I, H, n, up);
          for (let i = 0; i < I; i++) gate[i] *= up[i];
          matVec(tensors['mlp.down'], H, I, gate, down);
          for (let i = 0; i < H; i++) feature[i] += down[i];
          // Head min(depth, heads) − 1 on [h_t; f̂].
          anchored.set(state.anchor, 0);
          anchored.set(feature, H);
          matVec(tensors[`head.${Math.min(depth, heads) - 1}`], vocabSize, 2 * H, anchored, logits);
          return {
            anchor: state.anchor,
            keys: [...state.keys, feature],
            previous: [state.previous[1], token],
          };
        },
      };
    },
  });
}
