import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { ModelFormatError } from '@decodekit/core';
import { buildLlamaGraph, readEmbeddingTable } from './graph-builder.js';
import { readLlama2cCheckpoint } from './llama2c.js';
import { decodeModel } from './onnx-writer.js';
import { GraphRunner, causalBias, maxAbsDiff, modelBytes } from './ort-test-utils.js';

const PROMPT = [1, 403, 407, 261, 378];
const shape = { numLayers: 5, numKvHeads: 4, headDim: 8, vocabSize: 512 };

/** One forward of an `inputsEmbeds` graph from an empty cache. */
async function runEmbeds(
  session: ort.InferenceSession,
  embeds: Float32Array,
  rows: number,
  dim: number,
): Promise<Float32Array> {
  const i64 = (values: number[]) => BigInt64Array.from(values.map(BigInt));
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', embeds, [1, rows, dim]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(rows).fill(1n), [1, rows]),
    position_ids: new ort.Tensor('int64', i64(Array.from({ length: rows }, (_, i) => i)), [
      1,
      rows,
    ]),
  };
  for (let i = 0; i < shape.numLayers; i++) {
    for (const kind of ['key', 'value'])
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor(
        'float32',
        new Float32Array(0),
        [1, 4, 0, 8],
      );
  }
  if (session.inputNames.includes('attention_bias'))
    feeds.attention_bias = new ort.Tensor('float32', causalBias(0, rows), [1, 1, rows, rows]);
  if (session.inputNames.includes('skip_layers'))
    feeds.skip_layers = new ort.Tensor('bool', new Uint8Array(shape.numLayers), [shape.numLayers]);
  const outputs = await session.run(feeds);
  return outputs.logits.data as Float32Array;
}

describe('inputsEmbeds graphs (stories260K)', () => {
  const { config, weights } = readLlama2cCheckpoint(
    modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin'),
  );

  test('readEmbeddingTable returns embed_tokens of a default graph; the default graph keeps input_ids', () => {
    const onnx = buildLlamaGraph(config, weights);
    const table = readEmbeddingTable(onnx);
    expect([table.vocabSize, table.hiddenSize]).toEqual([config.vocabSize, config.dim]);
    expect(maxAbsDiff(table.data, weights.tokenEmbedding)).toBe(0);
    const inputs = (decodeModel(onnx).graph?.input ?? []).map(input => input.name);
    expect(inputs[0]).toBe('input_ids');
    expect(inputs).not.toContain('inputs_embeds');
  });

  test.each([
    ['plain', true],
    ['extended', false],
  ] as const)(
    '%s: embedding rows as inputs_embeds give the logits of input_ids',
    async (_label, plain) => {
      const session = await ort.InferenceSession.create(
        buildLlamaGraph(config, weights, { plain, inputsEmbeds: true }),
        { intraOpNumThreads: 1 },
      );
      expect(session.inputNames[0]).toBe('inputs_embeds');
      expect(session.inputNames).not.toContain('input_ids');
      const table = readEmbeddingTable(buildLlamaGraph(config, weights, { plain }));
      const embeds = new Float32Array(PROMPT.length * config.dim);
      PROMPT.forEach((token, row) =>
        embeds.set(
          table.data.subarray(token * config.dim, (token + 1) * config.dim),
          row * config.dim,
        ),
      );
      const logits = await runEmbeds(session, embeds, PROMPT.length, config.dim);
      const runner = await GraphRunner.create(buildLlamaGraph(config, weights, { plain }), shape);
      const reference = await runner.step(runner.emptyPast(), { ids: PROMPT });
      expect(maxAbsDiff(logits, reference.logits)).toBeLessThan(1e-5);
      await runner.release();
      await session.release();
    },
  );

  test('readEmbeddingTable rejects graphs without embed_tokens', () => {
    expect(() => readEmbeddingTable(new Uint8Array([8, 8]))).toThrow(ModelFormatError);
  });
});
