import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReferenceModel, REFERENCE_MODEL } from '@decodekit/conformance';
import { defaultMirrors, findKnownModel, readLlama2cCheckpoint } from '@decodekit/models/node';
import { parsePpdWeights, serializePpdWeights } from '@decodekit/strategy-ppd';
import { assert, describe, expect, it } from 'vitest';
import { generateDataset } from './dataset.js';
import { FrozenLlama } from './frozen-llama.js';
import { tf, useTrainBackend } from './tf-backend.js';
import { trainPpd } from './train-ppd.js';

/** stories260K's llama2.c checkpoint from the DECODEKIT_MODELS mirrors (vitest.config.ts sets them). */
function readCheckpoint() {
  const known = findKnownModel(REFERENCE_MODEL);
  assert(known, 'stories260K is a known model');
  const file = defaultMirrors()
    .map(mirror => join(mirror, known.mirrorPath, known.checkpoint.file))
    .find(path => existsSync(path));
  assert(file, 'stories260K.bin is in a DECODEKIT_MODELS mirror');
  const { config, weights } = readLlama2cCheckpoint(new Uint8Array(readFileSync(file)), file);
  return { shape: config, weights };
}

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
});
