/**
 * Third-party exports load unchanged: the onnxruntime-genai model builder's tiny fp16 Llama (genai_config.json,
 * flat folder, external data, float16 KV cache and logits, com.microsoft contrib ops) gives the same greedy ids
 * through decodekit as a minimal hand-written onnxruntime-node loop over the same files.
 */
import * as ortNode from 'onnxruntime-node';
import { createDecoder, ModelFormatError, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { minimalGreedy } from './__fixtures__/minimal-loop';
import {
  hfExportFolder,
  stubTokenizerFactory,
  tinyModelFolder,
  writeFolder,
} from './__fixtures__/model-folders';
import { createOnnxBackend } from './onnx-backend';
import { readModelFolder } from './model-folder';
import { loadModel } from './load-model';
import { createWasmBackend } from './node-wasm-backend';
import type { OrtRuntime, OrtSession } from './ort-runtime';

const genaiFp16 = hfExportFolder('onnxruntime-genai-tiny-random-llama-fp16');

/** onnxruntime-node whose sessions count their runs and may report other inputs or metadata. */
function countingRuntime(
  counter: { runs: number },
  edit: (session: OrtSession) => Partial<OrtSession> = () => ({}),
): OrtRuntime {
  const ort = ortNode as unknown as OrtRuntime;
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(model: string, options?: object): Promise<OrtSession> {
        const session = await ort.InferenceSession.create(model, options);
        return {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          inputMetadata: session.inputMetadata,
          outputMetadata: session.outputMetadata,
          run: (feeds, fetches, runOptions) => {
            counter.runs++;
            return session.run(feeds, fetches, runOptions);
          },
          release: () => session.release(),
          ...edit(session),
        };
      },
    } as OrtRuntime['InferenceSession'],
  };
}

function backendOver(runtime: OrtRuntime) {
  return createOnnxBackend({
    id: 'onnx-test',
    loadRuntime: async () => runtime,
    sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1 },
    readSource: readModelFolder,
    acceptsPath: true,
    createTokenizer: stubTokenizerFactory,
  });
}

describe('onnxruntime-genai tiny-random-LlamaForCausalLM-fp16', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(genaiFp16);
  });
  afterAll(() => model?.dispose());

  it('reads the model from genai_config.json and the chat template from tokenizer_config.json', () => {
    expect(model.info).toMatchObject({
      vocabSize: 32000,
      contextLength: 2048,
      bosTokenId: 0,
      eosTokenIds: [1],
      numLayers: 2,
      hiddenSize: 16,
    });
    // No attention_bias input: chains only, verified by the engine one path at a time.
    expect(model.capabilities).toMatchObject({
      tree: false,
      hiddenStates: false,
      layerSkip: false,
    });
    expect(model.tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi there' }])).toContain(
      '[INST] Hi there [/INST]',
    );
  });

  it.each(['Once upon a time', 'The quick brown fox'])(
    "greedy decoding of %j gives the minimal onnxruntime-node loop's ids",
    async prompt => {
      const decoder = createDecoder({ model, tokenizer: model.tokenizer });
      const result = await decoder.generate(prompt, { maxTokens: 20, temperature: 0 });
      const expected = await minimalGreedy(
        { graph: join(genaiFp16, 'model.onnx') },
        result.promptTokens,
        20,
        {
          eos: model.info.eosTokenIds,
        },
      );
      expect(result.promptTokens.length).toBeGreaterThan(2);
      expect(result.tokens).toEqual(expected);
    },
  );

  it('serves several tokens on top of a cache one row at a time, with the logits of single-row forwards', async () => {
    const counter = { runs: 0 };
    const probed = await backendOver(countingRuntime(counter)).load(genaiFp16);
    try {
      counter.runs = 0;
      const sequence = probed.createSequence();
      await sequence.forward({ tokens: Int32Array.of(0, 450, 4996) }); // a prompt runs in one forward
      expect(counter.runs).toBe(1);
      sequence.commit([0, 1, 2]);
      const fork = sequence.fork();
      const { logits } = await sequence.forward({ tokens: Int32Array.of(17354, 1701, 29916) });
      expect(counter.runs).toBe(4); // this export fails on several rows after a cache: three runs
      const vocab = probed.info.vocabSize;
      for (const [row, token] of [17354, 1701, 29916].entries()) {
        const single = await fork.forward({ tokens: Int32Array.of(token) });
        fork.commit([0]);
        expect(logits.subarray(row * vocab, (row + 1) * vocab)).toEqual(single.logits);
      }
      sequence.commit([0, 1]);
      expect(sequence.tokens).toEqual([0, 450, 4996, 17354, 1701]);
    } finally {
      await probed.dispose();
    }
  });
});

describe('the onnxruntime-genai export on the wasm backend (graph and external data given as bytes)', () => {
  it("decodes the CPU backend's greedy ids", async () => {
    const wasm = await loadModel(genaiFp16, { backend: createWasmBackend() });
    const cpu = await loadModel(genaiFp16);
    try {
      const ids = async (model: LoadedModel) =>
        (
          await createDecoder({ model, tokenizer: model.tokenizer }).generate('Once upon a time', {
            maxTokens: 12,
            temperature: 0,
          })
        ).tokens;
      expect(wasm.capabilities.backendId).toBe('onnx-wasm');
      expect(await ids(wasm)).toEqual(await ids(cpu));
    } finally {
      await wasm.dispose();
      await cpu.dispose();
    }
  });
});

describe('graphs decodekit cannot feed', () => {
  it('reports a genai_config.json without a decoder section through loadModel()', async () => {
    const folder = writeFolder('genai-broken', {
      'genai_config.json': JSON.stringify({ model: { type: 'llama' } }),
      'model.onnx': '',
    });
    const error = await loadModel(folder).catch((caught: unknown) => caught);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/genai_config\.json.*no "model\.decoder" section/);
  });

  it("names an unknown input, lists the graph's inputs and the supported layouts", async () => {
    const backend = backendOver(
      countingRuntime({ runs: 0 }, session => ({
        inputNames: [...session.inputNames, 'token_type_ids'],
      })),
    );
    const error = await backend
      .load(tinyModelFolder({ plain: true }))
      .catch((caught: unknown) => caught);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('token_type_ids');
    expect(message).toContain(
      "The graph's inputs are input_ids, attention_mask, position_ids, past_key_values.0.key",
    );
    expect(message).toContain('genai_config.json');
  });

  it('refuses a bfloat16 cache with what to do', async () => {
    const backend = backendOver(
      countingRuntime({ runs: 0 }, session => ({
        inputMetadata: (session.inputMetadata ?? []).map(meta =>
          meta.name.startsWith('past_key_values.') ? { ...meta, type: 'bfloat16' } : meta,
        ),
      })),
    );
    const error = await backend
      .load(tinyModelFolder({ plain: true }))
      .catch((caught: unknown) => caught);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /"past_key_values\.0\.key" is bfloat16 .*export the model in float16 or float32/,
    );
  });
});
