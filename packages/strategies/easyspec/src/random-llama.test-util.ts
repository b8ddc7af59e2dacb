import type { DraftLlamaConfig, DraftLlamaWeights } from './layer-parallel-llama.js';

/** Small random Llama weights for tests (deterministic per seed). */
export function randomLlama(
  seed: number,
  vocabSize: number,
  overrides: Partial<DraftLlamaConfig> = {},
): { config: DraftLlamaConfig; weights: DraftLlamaWeights } {
  const config: DraftLlamaConfig = {
    vocabSize,
    dim: 16,
    hiddenDim: 32,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: 256,
    ...overrides,
  };
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const tensor = (size: number, scale: number, offset = 0) =>
    Float32Array.from({ length: size }, () => offset + (next() * 2 - 1) * scale);
  const { dim: d, hiddenDim: h, numLayers: l, numHeads, numKvHeads } = config;
  const kv = (d * numKvHeads) / numHeads;
  return {
    config,
    weights: {
      tokenEmbedding: tensor(vocabSize * d, 1),
      rmsAtt: tensor(l * d, 0.1, 1),
      wq: tensor(l * d * d, 0.5),
      wk: tensor(l * kv * d, 0.5),
      wv: tensor(l * kv * d, 0.5),
      wo: tensor(l * d * d, 0.5),
      rmsFfn: tensor(l * d, 0.1, 1),
      w1: tensor(l * h * d, 0.5),
      w2: tensor(l * d * h, 0.5),
      w3: tensor(l * h * d, 0.5),
      rmsFinal: tensor(d, 0.1, 1),
    },
  };
}
