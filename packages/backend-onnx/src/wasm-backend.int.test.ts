import { ModelFormatError, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  stories260KFolder,
  stories260KGolden,
  stubTokenizerFactory,
} from './__fixtures__/model-folders';
import { runBackendConformance } from '@decodekit/conformance';
import { createCpuBackend, createWasmBackend } from './index';

/** A config.json equivalent to a loaded model's info. */
function configOf(model: LoadedModel): Record<string, unknown> {
  const { vocabSize, numLayers, hiddenSize, contextLength } = model.info;
  return {
    vocab_size: vocabSize,
    num_hidden_layers: numLayers,
    hidden_size: hiddenSize,
    max_position_embeddings: contextLength,
    num_attention_heads: 8,
    num_key_value_heads: 4,
  };
}

const backend = createWasmBackend({ createTokenizer: stubTokenizerFactory });

runBackendConformance('onnx-wasm (stories260K)', {
  makeModel: () => backend.load(stories260KFolder()),
  makePlainModel: () => backend.load(stories260KFolder({ plain: true })),
});

describe('createWasmBackend in Node', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await backend.load(stories260KFolder());
  });
  afterAll(() => model?.dispose());

  it('reports onnx-wasm capabilities', () => {
    expect(model.capabilities).toEqual({
      tree: true,
      hiddenStates: true,
      layerSkip: true,
      backendId: 'onnx-wasm',
    });
  });

  it('decodes stories260K greedily exactly like llama2.c (100 tokens)', async () => {
    const { promptIds, generatedIds } = stories260KGolden();
    const sequence = model.createSequence();
    const vocab = model.info.vocabSize;
    let { logits } = await sequence.forward({ tokens: Int32Array.from(promptIds) });
    sequence.commit(promptIds.map((_, index) => index));
    const generated: number[] = [];
    for (let step = 0; step < 100; step++) {
      const row = logits.subarray(logits.length - vocab);
      let best = 0;
      for (let token = 1; token < vocab; token++) if (row[token] > row[best]) best = token;
      generated.push(best);
      ({ logits } = await sequence.forward({ tokens: Int32Array.of(best) }));
      sequence.commit([0]);
    }
    expect(generated).toEqual(generatedIds.slice(0, 100));
  });

  it('turns a corrupt graph into ModelFormatError with the runtime error as cause', async () => {
    let caught: unknown;
    try {
      await backend.load({
        config: { ...configOf(model) },
        tokenizer: { model: { vocab: {} } },
        onnx: new Uint8Array([8, 7, 1, 2, 3]),
      });
    } catch (error) {
      caught = error;
    }
    expect(ModelFormatError.isInstance(caught)).toBe(true);
    expect((caught as ModelFormatError).path).toBe('onnx/model.onnx');
    expect((caught as Error).cause).toBeDefined();
  });

  it('agrees with the CPU backend on a tree forward', async () => {
    const cpu = await createCpuBackend({ createTokenizer: stubTokenizerFactory }).load(
      stories260KFolder(),
    );
    try {
      const input = {
        tokens: Int32Array.of(1, 403, 407, 261, 378, 300),
        parents: Int32Array.of(-1, 0, 1, 1, 2, -1),
      };
      const { logits: fromWasm } = await model.createSequence().forward(input);
      const { logits: fromCpu } = await cpu.createSequence().forward(input);
      let max = 0;
      for (let index = 0; index < fromCpu.length; index++)
        max = Math.max(max, Math.abs(fromCpu[index] - fromWasm[index]));
      expect(max).toBeLessThan(1e-3);
    } finally {
      await cpu.dispose();
    }
  });
});
