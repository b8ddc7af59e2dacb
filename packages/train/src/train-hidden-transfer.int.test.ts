import { loadReferenceModel } from '@decodekit/conformance';
import {
  parseHiddenTransferWeights,
  serializeHiddenTransferWeights,
} from '@decodekit/strategy-hidden-transfer';
import { readReferenceCheckpoint } from './__fixtures__/reference-checkpoint.js';
import { assert, describe, expect, it } from 'vitest';
import { generateDataset } from './dataset.js';
import { FrozenLlama } from './frozen-llama.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { trainHiddenTransfer } from './train-hidden-transfer.js';

/** stories260K as trainHiddenTransfer's target (`shape` = its config). */
function readCheckpoint() {
  const { config, weights } = readReferenceCheckpoint();
  return { shape: config, weights };
}

function worstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('Hidden Transfer training on stories260K', () => {
  it('the graph split at a layer (skip_layers, hidden_states, inputs_embeds) matches the TensorFlow.js target', async () => {
    await useTrainBackend('cpu');
    const model = await loadReferenceModel();
    const { shape, weights } = readCheckpoint();
    const llama = new FrozenLlama(shape, weights);
    const tokens = Int32Array.from([1, 403, 261, 378, 301, 280, 395, 297, 265, 424]);
    const layer = 2;
    const upper = Array.from({ length: shape.numLayers - layer }, (_, i) => layer + i);
    const { cache, states } = llama.forward(tokens);

    // The state after the first `layer` layers, through the final norm: the graph's hidden_states output
    // with the upper layers skipped.
    const split = await model.createSequence().forward({ tokens, skipLayers: upper, hidden: true });
    assert(split.hidden, 'the graph returns hidden states');
    expect(worstDifference(llama.finalNorm(states[layer]).dataSync(), split.hidden)).toBeLessThan(
      1e-3,
    );

    // Two pseudo states after the first 6 tokens enter at `layer`: the inputs_embeds graph with the lower
    // layers skipped, at positions 6 and 7, attending to the cached context.
    const pseudo = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i * 0.37) * 2);
    const sequence = model.createSequence();
    await sequence.forward({ tokens: tokens.subarray(0, 6) });
    sequence.commit([0, 1, 2, 3, 4, 5]);
    const viaGraph = await sequence.forward({
      tokens: Int32Array.from([0, 0]),
      embeddings: pseudo,
      skipLayers: Array.from({ length: layer }, (_, i) => i),
    });
    const viaTf = llama
      .transferredLogits(cache, Int32Array.from([5]), tf.tensor2d(pseudo, [2, 64]), 2, layer)
      .dataSync();
    expect(worstDifference(viaTf, viaGraph.logits)).toBeLessThan(1e-3);
    expect(() =>
      llama.transferredLogits(cache, Int32Array.from([5]), tf.tensor2d(pseudo, [2, 64]), 3, layer),
    ).toThrow(/needs 1 groups × 3 rows/);
    llama.dispose();
  });

  it('trains projections that beat their identity start, deterministically by seed', async () => {
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
      learningRate: 1e-2,
      seed: 1,
      backend: 'wasm' as const,
      logEvery: 2,
      holdout: 0.25,
      treeSize: 10,
      layer: 2,
      transfers: 2,
    };
    const first = await trainHiddenTransfer(dataset, readCheckpoint(), options);
    const again = await trainHiddenTransfer(dataset, readCheckpoint(), options);
    expect(again.losses).toEqual(first.losses);
    expect(first.losses.at(-1)?.loss).toBeLessThan(first.losses[0].loss);
    const parsed = parseHiddenTransferWeights(serializeHiddenTransferWeights(first.weights));
    expect(Array.from(parsed.weight)).toEqual(Array.from(first.weights.weight));
    expect(parsed).toMatchObject({ layer: 2, transfers: 2, numLayers: 5 });
    expect(parsed.tree).toHaveLength(10);
    // Depth 1 ranks the target's own logits: on greedy continuations its top-1 is the next token.
    expect(first.accuracy[0][0]).toBeGreaterThan(0.97);
    await expect(
      trainHiddenTransfer(dataset, readCheckpoint(), { ...options, layer: 5 }),
    ).rejects.toThrow(/layer/);
  });
});
