import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDecoder, speculative, type Drafter, type LoadedModel } from '@decodekit/core';
import { loadReferenceModel } from '@decodekit/conformance';
import { chimera, parseChimeraWeights, serializeChimeraWeights } from '@decodekit/strategy-chimera';
import { eagle, parseEagleWeights, serializeEagleWeights } from '@decodekit/strategy-eagle';
import { falcon, parseFalconWeights, serializeFalconWeights } from '@decodekit/strategy-falcon';
import { fspad, parseFspadWeights, serializeFspadWeights } from '@decodekit/strategy-fspad';
import { medusa, parseMedusaWeights, serializeMedusaWeights } from '@decodekit/strategy-medusa';
import { afterAll, describe, expect, it, assert } from 'vitest';
import {
  datasetKey,
  generateDataset,
  loadOrGenerateDataset,
  type Dataset,
  type DatasetOptions,
} from './dataset.js';
import { trainChimera } from './train-chimera.js';
import { trainEagle } from './train-eagle.js';
import { trainFalcon } from './train-falcon.js';
import { trainFspad } from './train-fspad.js';
import { trainMedusa } from './train-medusa.js';

/** The model's embedding table (our converted models have one). */
function tableOf(model: { embeddingTable?(): Float32Array }): Float32Array {
  const table = model.embeddingTable?.();
  assert(table, 'the model has an embedding table');
  return table;
}

/** Greedy decoding of the first 10 dataset tokens with `drafter` gives the target's own greedy tokens. */
async function expectExactDecoding(model: LoadedModel, dataset: Dataset, drafter: Drafter) {
  const prompt = { tokens: Array.from(dataset.tokens.subarray(0, 10)) };
  const options = { maxTokens: 30, temperature: 0 };
  const reference = await createDecoder({ model }).generate(prompt, options);
  const drafted = await createDecoder({ model })
    .use(speculative({ drafter }))
    .generate(prompt, options);
  expect(drafted.tokens).toEqual(reference.tokens);
}

const directory = mkdtempSync(join(tmpdir(), 'decodekit-train-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const options: DatasetOptions = { count: 6, length: 40, seed: 3, sampledPrefix: 12 };

describe('@decodekit/train on stories260K', () => {
  it('generates the same dataset for the same seed, with the target’s hidden states, and caches it', async () => {
    const model = await loadReferenceModel();
    const first = await loadOrGenerateDataset(model, options, directory);
    expect(first.cached).toBe(false);
    const again = await loadOrGenerateDataset(model, options, directory);
    expect(again.cached).toBe(true);
    expect(Array.from(again.dataset.tokens)).toEqual(Array.from(first.dataset.tokens));
    expect(Array.from(again.dataset.hidden.subarray(0, 256))).toEqual(
      Array.from(first.dataset.hidden.subarray(0, 256)),
    );
    const { dataset } = first;
    expect(dataset.hidden.length).toBe(dataset.tokens.length * model.info.hiddenSize);
    expect(dataset.tokens[dataset.offsets[2]]).toBe(model.info.bosTokenId);
    // Row r's hidden state gives the logits of token r + 1, which the greedy part of a sequence matches.
    const table = tableOf(model);
    const r = dataset.offsets[1] - 2;
    let best = 0;
    let bestLogit = -Infinity;
    for (let v = 0; v < model.info.vocabSize; v++) {
      let logit = 0;
      for (let i = 0; i < 64; i++) logit += table[v * 64 + i] * dataset.hidden[r * 64 + i];
      if (logit > bestLogit) [best, bestLogit] = [v, logit];
    }
    expect(best).toBe(dataset.tokens[r + 1]);
    const other = await generateDataset(model, { ...options, count: 2, seed: 4 });
    expect(Array.from(other.tokens.subarray(0, 20))).not.toEqual(
      Array.from(dataset.tokens.subarray(0, 20)),
    );
    const corpus = await generateDataset(model, {
      ...options,
      count: 2,
      length: 24,
      prompts: ['Tom had a red ball.', 'Lily wanted to bake a cake.'],
    });
    const second = Array.from(corpus.tokens.subarray(corpus.offsets[1], corpus.offsets[2]));
    expect(
      second.slice(0, 1 + model.tokenizer.encode('Lily wanted to bake a cake.').length),
    ).toEqual([1, ...model.tokenizer.encode('Lily wanted to bake a cake.')]);
    await expect(generateDataset(model, { ...options, length: 10_000 })).rejects.toThrow(
      /context length/,
    );
  });

  it('samples the prefixes at prefixTemperature; absent, the data and cache key are those of T = 1', async () => {
    const model = await loadReferenceModel();
    const small = { ...options, count: 2, length: 16 };
    expect(datasetKey('m', { ...small, prefixTemperature: undefined })).toBe(
      datasetKey('m', small),
    );
    expect(datasetKey('m', { ...small, prefixTemperature: 0.7 })).not.toBe(datasetKey('m', small));
    const prefixes = (dataset: Dataset) =>
      [0, 1].map(i =>
        Array.from(dataset.tokens.subarray(dataset.offsets[i], dataset.offsets[i] + 13)),
      );
    const plain = prefixes(await generateDataset(model, small));
    expect(prefixes(await generateDataset(model, { ...small, prefixTemperature: 1 }))).toEqual(
      plain,
    );
    expect(plain[0]).not.toEqual(plain[1]);
    // Near T = 0 every seed samples the greedy opening: both prefixes are the same.
    const cold = prefixes(await generateDataset(model, { ...small, prefixTemperature: 1e-3 }));
    expect(cold[0]).toEqual(cold[1]);
    await expect(generateDataset(model, { ...small, prefixTemperature: 0 })).rejects.toThrow(
      /prefixTemperature/,
    );
  });

  it('trains Medusa heads deterministically, resumes from a checkpoint on the same curve, and the heads decode exactly', async () => {
    const model = await loadReferenceModel();
    const { dataset } = await loadOrGenerateDataset(model, options, directory);
    const table = tableOf(model);
    const loop = {
      batchSize: 16,
      learningRate: 0.01,
      seed: 1,
      backend: 'wasm' as const,
      logEvery: 1,
      heads: 2,
      treeSize: 6,
      holdout: 0.34,
    };
    const whole = await trainMedusa(dataset, table, 512, { ...loop, steps: 8 });
    const checkpoint = join(directory, 'medusa-checkpoint.json');
    await trainMedusa(dataset, table, 512, { ...loop, steps: 4, checkpoint });
    const resumed = await trainMedusa(dataset, table, 512, { ...loop, steps: 8, checkpoint });
    expect(resumed.losses.map(entry => entry.loss)).toEqual(whole.losses.map(entry => entry.loss));
    expect(Array.from(resumed.weights.heads[1].weight)).toEqual(
      Array.from(whole.weights.heads[1].weight),
    );
    expect(whole.losses.at(-1)?.loss).toBeLessThan(whole.losses[0].loss);
    const weights = parseMedusaWeights(serializeMedusaWeights(whole.weights));
    expect(weights.tree).toHaveLength(6);
    await expectExactDecoding(model, dataset, medusa({ weights }));
  });

  it('trains the EAGLE drafter with an unrolled loss and decodes exactly with it', async () => {
    const model = await loadReferenceModel();
    const { dataset } = await loadOrGenerateDataset(model, options, directory);
    const result = await trainEagle(dataset, tableOf(model), 512, {
      steps: 6,
      batchSize: 16,
      learningRate: 0.01,
      seed: 2,
      backend: 'cpu',
      logEvery: 1,
      unroll: 2,
      innerSize: 32,
      holdout: 0.34,
    });
    expect(result.losses.at(-1)?.loss).toBeLessThan(result.losses[0].loss);
    expect(result.heldOut.meanAcceptedChain).toBeGreaterThanOrEqual(0);
    const weights = parseEagleWeights(serializeEagleWeights(result.weights));
    await expectExactDecoding(model, dataset, eagle({ weights }));
  });

  it('trains the FSPAD drafter (split head / regression halves) and decodes exactly with it', async () => {
    const model = await loadReferenceModel();
    const { dataset } = await loadOrGenerateDataset(model, options, directory);
    const train = {
      steps: 6,
      batchSize: 16,
      learningRate: 0.01,
      seed: 4,
      backend: 'wasm' as const,
      logEvery: 1,
      unroll: 2,
      innerSize: 32,
      holdout: 0.34,
    };
    const result = await trainFspad(dataset, tableOf(model), 512, train);
    const again = await trainFspad(dataset, tableOf(model), 512, train);
    expect(again.losses).toEqual(result.losses);
    expect(result.losses.at(-1)?.loss).toBeLessThan(result.losses[0].loss);
    const weights = parseFspadWeights(serializeFspadWeights(result.weights));
    await expectExactDecoding(model, dataset, fspad({ weights }));
  });

  it('trains Chimera (trigram MLP + fusing attention layer + heads from the LM head) deterministically and decodes exactly with it', async () => {
    const model = await loadReferenceModel();
    const { dataset } = await loadOrGenerateDataset(model, options, directory);
    const train = {
      steps: 6,
      batchSize: 16,
      learningRate: 0.01,
      seed: 5,
      backend: 'wasm' as const,
      logEvery: 1,
      heads: 2,
      window: 4,
      attentionHeads: 2,
      innerSize: 32,
      evalDepth: 3,
      holdout: 0.34,
    };
    const result = await trainChimera(dataset, tableOf(model), 512, train);
    const again = await trainChimera(dataset, tableOf(model), 512, train);
    expect(again.losses).toEqual(result.losses);
    expect(result.losses.at(-1)?.loss).toBeLessThan(result.losses[0].loss);
    expect(result.heldOut.top1).toBeGreaterThan(0);
    const weights = parseChimeraWeights(serializeChimeraWeights(result.weights));
    expect(weights.heads).toBe(2);
    await expectExactDecoding(model, dataset, chimera({ weights }));
  });

  it('trains Falcon (two tokens per forward, glancing) deterministically and decodes exactly with it', async () => {
    const model = await loadReferenceModel();
    const { dataset } = await loadOrGenerateDataset(model, options, directory);
    const train = {
      steps: 6,
      batchSize: 16,
      learningRate: 0.01,
      seed: 6,
      backend: 'wasm' as const,
      logEvery: 1,
      unroll: 2,
      innerSize: 32,
      holdout: 0.34,
    };
    const result = await trainFalcon(dataset, tableOf(model), 512, train);
    const again = await trainFalcon(dataset, tableOf(model), 512, train);
    expect(again.losses).toEqual(result.losses);
    expect(result.losses.at(-1)?.loss).toBeLessThan(result.losses[0].loss);
    const weights = parseFalconWeights(serializeFalconWeights(result.weights));
    await expectExactDecoding(model, dataset, falcon({ weights }));
  });
});
