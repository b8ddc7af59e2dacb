import { loadReferenceModel } from '@decodekit/conformance';
import { parsePpdWeights, serializePpdWeights } from '@decodekit/strategy-ppd';
import { readReferenceCheckpoint } from './__fixtures__/reference-checkpoint.js';
import { describe, expect, it } from 'vitest';
import { generateDataset } from './dataset.js';
import { FrozenLlama } from './frozen-llama.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { trainPpd } from './train-ppd.js';

/** stories260K as trainPpd's target (`shape` = its config). */
function readCheckpoint() {
  const { config, weights } = readReferenceCheckpoint();
  return { shape: config, weights };
}

const baseOptions = {
  steps: 1,
  batchSize: 1,
  learningRate: 1e-2,
  seed: 0,
  backend: 'wasm' as const,
};

describe('PPD training on stories260K', () => {
  it('the TensorFlow.js target matches the ONNX graph, for tokens and for appended input embeddings', async () => {
    await useTrainBackend('cpu');
    const model = await loadReferenceModel();
    const target = readCheckpoint();
    const llama = new FrozenLlama(target.shape, target.weights);
    const tokens = Int32Array.from([1, 403, 261, 378, 301, 280, 395, 297, 265, 424]);
    const reference = await model.createSequence().forward({ tokens });
    const { logits, cache } = llama.forward(tokens);
    const ours = logits.dataSync();
    let worst = 0;
    for (let i = 0; i < ours.length; i++)
      worst = Math.max(worst, Math.abs(ours[i] - reference.logits[i]));
    expect(worst).toBeLessThan(1e-3);

    // Three free embeddings after the first 6 tokens: the graph's inputs_embeds path at positions 6, 7, 8.
    const appended = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i * 0.37));
    const sequence = model.createSequence();
    await sequence.forward({ tokens: tokens.subarray(0, 6) });
    sequence.commit([0, 1, 2, 3, 4, 5]);
    const viaGraph = await sequence.forward({
      tokens: Int32Array.from([0, 0, 0]),
      embeddings: appended,
    });
    const viaTf = llama
      .appendedLogits(cache, Int32Array.from([5, 2]), tf.tensor2d(appended, [3, 64]))
      .dataSync();
    worst = 0;
    for (let i = 0; i < 3 * 512; i++)
      worst = Math.max(worst, Math.abs(viaTf[i] - viaGraph.logits[i]));
    expect(worst).toBeLessThan(1e-3);

    // Ensemble prompt tokens: 2 prompt tokens × 3 virtual tokens after the first 6 tokens, chain j of the
    // TensorFlow.js mask against the graph's tree attention with the drafter's parents (row i · 3 + j follows
    // row (i - 1) · 3 + j; [P1]'s rows follow the last token) at positions 6, 6, 6, 7, 7, 7.
    const ensemble = Float32Array.from({ length: 6 * 64 }, (_, i) => Math.cos(i * 0.23));
    sequence.commit([]);
    const viaTree = await sequence.forward({
      tokens: Int32Array.from([0, 0, 0, 0, 0, 0]),
      parents: Int32Array.from([-1, -1, -1, 0, 1, 2]),
      embeddings: ensemble,
    });
    const viaChains = llama
      .appendedLogits(cache, Int32Array.from([5]), tf.tensor2d(ensemble, [6, 64]), 3)
      .dataSync();
    worst = 0;
    for (let i = 0; i < 6 * 512; i++)
      worst = Math.max(worst, Math.abs(viaChains[i] - viaTree.logits[i]));
    expect(worst).toBeLessThan(1e-3);
    // The chains differ (different embeddings), so the mask is what made them match.
    expect(Math.abs(viaChains[0] - viaChains[512])).toBeGreaterThan(1e-3);
    llama.dispose();
  });

  it('trains prompt tokens that beat their random start, deterministically by seed', async () => {
    const model = await loadReferenceModel();
    const dataset = await generateDataset(model, {
      count: 6,
      length: 32,
      seed: 5,
      sampledPrefix: 8,
    });
    const options = {
      steps: 6,
      batchSize: 2,
      learningRate: 3e-2,
      seed: 1,
      backend: 'wasm' as const,
      logEvery: 2,
      holdout: 0.25,
      treeSize: 10,
    };
    const first = await trainPpd(dataset, readCheckpoint(), options);
    const again = await trainPpd(dataset, readCheckpoint(), options);
    expect(again.losses).toEqual(first.losses);
    expect(first.losses.at(-1)?.loss).toBeLessThan(first.losses[0].loss);
    const parsed = parsePpdWeights(serializePpdWeights(first.weights));
    expect(Array.from(parsed.embeddings)).toEqual(Array.from(first.weights.embeddings));
    expect(parsed.tree).toHaveLength(10);
    // Depth 1 ranks the target's own logits: on greedy continuations its top-1 is the next token.
    expect(first.accuracy[0][0]).toBeGreaterThan(0.97);
  });

  it('trains ensemble prompt tokens (m chains, averaged logits) with a cosine schedule from token embeddings', async () => {
    const model = await loadReferenceModel();
    const dataset = await generateDataset(model, {
      count: 4,
      length: 24,
      seed: 5,
      sampledPrefix: 8,
    });
    const result = await trainPpd(dataset, readCheckpoint(), {
      steps: 6,
      batchSize: 2,
      learningRate: 3e-2,
      seed: 1,
      backend: 'wasm',
      logEvery: 2,
      holdout: 0.25,
      treeSize: 6,
      promptTokens: 2,
      virtualTokens: 3,
      init: 'tokens',
      schedule: 'cosine',
      lossDecay: 0.8,
      cutsPerSequence: 5,
    });
    expect(result.losses.at(-1)?.loss).toBeLessThan(result.losses[0].loss);
    const parsed = parsePpdWeights(serializePpdWeights(result.weights));
    expect(parsed.virtualTokens).toBe(3);
    expect(parsed.embeddings).toHaveLength(2 * 3 * 64);
    expect(result.accuracy).toHaveLength(3);
    await expect(
      trainPpd(dataset, readCheckpoint(), { ...baseOptions, virtualTokens: 0 }),
    ).rejects.toThrow(/virtualTokens/);
  });
});
