// Test and measurement support only (not published): an EmbeddingsModel over an `inputsEmbeds` graph run by
// its own onnxruntime-node session — the adapter until core's ForwardInput carries embeddings (README).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLlamaGraph, readEmbeddingTable, readLlama2cCheckpoint } from '@decodekit/models';
import * as ort from 'onnxruntime-node';
import type { EmbeddingsModel, EmbeddingsSequence } from '../src/index.js';

/** Builds stories260K's `inputsEmbeds` graph from the llama2.c checkpoint in the mirror. */
export async function loadStoriesEmbeddingsModel(
  modelsRoot: string,
  eosTokenIds: readonly number[],
): Promise<EmbeddingsModel & { release(): Promise<void> }> {
  const checkpoint = readLlama2cCheckpoint(
    new Uint8Array(
      readFileSync(join(modelsRoot, 'karpathy/tinyllamas/stories260K/stories260K.bin')),
    ),
  );
  const { config, weights } = checkpoint;
  const session = await ort.InferenceSession.create(
    buildLlamaGraph(config, weights, { plain: true, inputsEmbeds: true }),
    { intraOpNumThreads: 1 },
  );
  const table = readEmbeddingTable(buildLlamaGraph(config, weights, { plain: true }));
  const headDim = config.dim / config.numHeads;
  const createSequence = (): EmbeddingsSequence => {
    let past: ort.Tensor[] = Array.from(
      { length: config.numLayers * 2 },
      () => new ort.Tensor('float32', new Float32Array(0), [1, config.numKvHeads, 0, headDim]),
    );
    let length = 0;
    return {
      get length() {
        return length;
      },
      async append(embeddings) {
        const rows = embeddings.length / config.dim;
        const total = length + rows;
        const feeds: Record<string, ort.Tensor> = {
          inputs_embeds: new ort.Tensor('float32', embeddings, [1, rows, config.dim]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
          position_ids: new ort.Tensor(
            'int64',
            BigInt64Array.from({ length: rows }, (_, i) => BigInt(length + i)),
            [1, rows],
          ),
        };
        for (let i = 0; i < config.numLayers; i++) {
          feeds[`past_key_values.${i}.key`] = past[2 * i];
          feeds[`past_key_values.${i}.value`] = past[2 * i + 1];
        }
        const outputs = await session.run(feeds);
        past = Array.from(
          { length: config.numLayers * 2 },
          (_, j) => outputs[`present.${j >> 1}.${j % 2 === 0 ? 'key' : 'value'}`],
        );
        length = total;
        return outputs.logits.data as Float32Array;
      },
      dispose() {
        past = [];
      },
    };
  };
  return {
    info: {
      name: 'stories260K (inputs_embeds)',
      vocabSize: config.vocabSize,
      hiddenSize: config.dim,
      contextLength: config.contextLength,
      eosTokenIds,
    },
    embeddingTable: table.data,
    createSequence,
    release: () => session.release(),
  };
}
