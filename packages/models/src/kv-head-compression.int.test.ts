import { describe, expect, test } from 'vitest';
import { convertLlama2c } from './convert-llama2c.js';
import { compressKvHeads } from './kv-head-compression.js';
import {
  llamaReference,
  referencePerplexity,
  sampleReferenceSequences,
} from './llama-reference.js';
import { readLlama2cCheckpoint } from './llama2c.js';
import { GraphRunner, maxAbsDiff, modelBytes } from './ort-test-utils.js';

const CHECKPOINT = modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin');
const TOKENIZER = modelBytes('karpathy/tinyllamas/stories260K/tok512.bin');
const PROMPT = [1, 403, 407, 261, 378];
// Small but seeded calibration and held-out sets keep the test fast; the README's table uses 8×256 / 16×256.
const CALIBRATION = { sequences: 2, length: 128, seed: 0 };

describe('stories260K KV-head compression (4 → 2 → 1)', () => {
  const dense = readLlama2cCheckpoint(CHECKPOINT);
  const heldOut = sampleReferenceSequences(dense.config, dense.weights, {
    sequences: 2,
    length: 128,
    seed: 1,
  });
  const densePerplexity = referencePerplexity(dense.config, dense.weights, heldOut);

  test.each([
    // Bounds on held-out perplexity relative to the dense model. Seeded runs measured 2.51× (4 → 2) and
    // 4.31× (4 → 1) with this small calibration; mean-pooling the heads gives ~24× and ~42× (README).
    { kvHeads: 2, maxRatio: 3 },
    { kvHeads: 1, maxRatio: 5.5 },
  ])(
    '$kvHeads KV heads: loads, caches $kvHeads heads, matches the reference',
    async ({ kvHeads, maxRatio }) => {
      const { files } = convertLlama2c({
        checkpoint: CHECKPOINT,
        tokenizer: TOKENIZER,
        kvHeads,
        kvCalibration: CALIBRATION,
      });
      const config = JSON.parse(files['config.json'] as string);
      expect(config.num_key_value_heads).toBe(kvHeads);
      expect(config.num_attention_heads).toBe(8);
      expect(config.decodekit.kvHeadCompression).toMatchObject({
        fromKvHeads: 4,
        toKvHeads: kvHeads,
        calibrationTokens: 256,
      });

      const runner = await GraphRunner.create(files['onnx/model.onnx'] as Uint8Array, {
        numLayers: 5,
        numKvHeads: kvHeads,
        headDim: 8,
        vocabSize: 512,
      });
      const { logits, present } = await runner.step(runner.emptyPast(), { ids: PROMPT });
      for (const tensor of present) expect(tensor.dims).toEqual([1, kvHeads, PROMPT.length, 8]);
      // The graph computes what the compressed weights mean (fp32 reference in JavaScript).
      const compressed = compressKvHeads(dense.config, dense.weights, {
        kvHeads,
        calibration: CALIBRATION,
      });
      const reference = llamaReference(compressed.config, compressed.weights);
      const expected = PROMPT.flatMap(token => Array.from(reference.step(token)));
      expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-3);
      await runner.release();

      const perplexity = referencePerplexity(compressed.config, compressed.weights, heldOut);
      expect(perplexity).toBeGreaterThan(densePerplexity);
      expect(perplexity / densePerplexity).toBeLessThan(maxRatio);
    },
  );
});
