import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '@decodekit/backend-onnx';
import type { LoadedModel } from '@decodekit/core';
import { buildTinyModel } from '@decodekit/models';
import { measureCostCurve } from './cost-curve.js';
import { loadRandomLlama, modelFilesFrom } from './random-model.js';

describe('measureCostCurve on the CPU backend', () => {
  let model: LoadedModel | undefined;
  afterAll(async () => {
    await model?.dispose();
  });

  it('measures a tiny seeded model loaded from in-memory files', async () => {
    model = await createCpuBackend().load(modelFilesFrom(buildTinyModel({ seed: 3 }).files), {
      name: 'tiny-3',
    });
    const curve = await measureCostCurve(model, { ks: [1, 4, 16], contextTokens: 32, repeats: 5 });
    expect(curve.map(point => point.k)).toEqual([1, 4, 16]);
    expect(curve[0].relative).toBe(1);
    for (const point of curve) {
      expect(point.ms_median).toBeGreaterThan(0);
      expect(point.relative).toBeGreaterThan(0);
    }
  });

  it('builds and loads a random Llama of the requested shape without the disk', async () => {
    const small = await loadRandomLlama({
      seed: 1,
      dim: 32,
      numLayers: 1,
      numHeads: 2,
      vocabSize: 64,
      contextLength: 64,
    });
    try {
      expect(small.info).toMatchObject({
        name: 'random-llama-25m-seed1',
        vocabSize: 64,
        numLayers: 1,
        hiddenSize: 32,
      });
      expect(small.capabilities.backendId).toBe('onnx-cpu');
    } finally {
      await small.dispose();
    }
  });
});
