import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFormatError, ModelNotFoundError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import {
  stories260KFolder,
  stories260KGolden,
  stubTokenizerFactory,
} from './__fixtures__/model-folders';
import { createDecoder } from '@decodekit/core';
import { convertLlama2c, hubModelFiles, resolveHubFiles } from '@decodekit/models';
import { startLocalHub } from '@decodekit/models/testing';
import { MODELS_ROOT, hfExportFolder, writeFolder } from './__fixtures__/model-folders';
import { createWasmBackend, fetchModelFiles } from './browser';
import { createCpuBackend } from './cpu-backend';
import { configFromGenai } from './model-layout';

const base = 'https://models.test/stories260K';

/** A fetch that serves the converted stories260K folder at `base`, minus `missing` files. */
function folderFetch(missing: readonly string[] = []) {
  const requested: string[] = [];
  const fetch = async (url: string) => {
    requested.push(url);
    const file = url.slice(base.length + 1);
    if (!url.startsWith(`${base}/`) || missing.includes(file))
      return new Response('not found', { status: 404 });
    try {
      return new Response(await readFile(join(stories260KFolder(), file)));
    } catch {
      return new Response('not found', { status: 404 });
    }
  };
  return { fetch, requested };
}

describe('browser entry', () => {
  it('loads a model folder from a URL with the wasm backend and decodes the golden', async () => {
    const { fetch, requested } = folderFetch();
    const model = await createWasmBackend({ fetch, createTokenizer: stubTokenizerFactory }).load(
      base,
    );
    try {
      expect(requested).toContain(`${base}/onnx/model.onnx`);
      expect(model.info.name).toBe('stories260K');
      expect(model.capabilities.backendId).toBe('onnx-wasm');
      const { promptIds, generatedIds } = stories260KGolden();
      const sequence = model.createSequence();
      let { logits } = await sequence.forward({ tokens: Int32Array.from(promptIds) });
      sequence.commit(promptIds.map((_, index) => index));
      const generated: number[] = [];
      for (let step = 0; step < 20; step++) {
        const row = logits.subarray(logits.length - 512);
        const best = row.indexOf(Math.max(...row));
        generated.push(best);
        ({ logits } = await sequence.forward({ tokens: Int32Array.of(best) }));
        sequence.commit([0]);
      }
      expect(generated).toEqual(generatedIds.slice(0, 20));
    } finally {
      await model.dispose();
    }
  });

  it('asks for no external data file the graph does not name (an offline page cannot answer for absent files)', async () => {
    const { fetch, requested } = folderFetch();
    const files = await fetchModelFiles(`${base}/`, { fetch });
    expect(files.onnx).toBeInstanceOf(Uint8Array);
    expect(requested.filter(url => /\.onnx(\.data|_data)/.test(url))).toEqual([]);
  });

  it('tolerates missing optional files', async () => {
    const { fetch } = folderFetch(['generation_config.json', 'tokenizer_config.json']);
    const files = await fetchModelFiles(`${base}/`, { fetch });
    expect(files.generationConfig).toBeUndefined();
    expect(files.tokenizerConfig).toBeUndefined();
    expect(files.onnx).toBeInstanceOf(Uint8Array);
  });

  it.each([
    { missing: 'config.json', errorClass: ModelNotFoundError },
    { missing: 'tokenizer.json', errorClass: ModelFormatError },
    { missing: 'onnx/model.onnx', errorClass: ModelFormatError },
  ])('names a missing $missing', async ({ missing, errorClass }) => {
    const { fetch } = folderFetch([missing]);
    let caught: unknown;
    try {
      await fetchModelFiles(base, { fetch });
    } catch (error) {
      caught = error;
    }
    expect(errorClass.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toContain(missing);
  });

  it('loads an onnxruntime-genai folder (genai_config.json, flat, external data) from a URL', async () => {
    const folder = hfExportFolder('onnxruntime-genai-tiny-random-llama-fp16');
    const genaiBase = 'https://models.test/genai';
    const requested: string[] = [];
    const fetch = async (url: string) => {
      requested.push(url);
      try {
        return new Response(await readFile(join(folder, url.slice(genaiBase.length + 1))));
      } catch {
        return new Response('not found', { status: 404 });
      }
    };
    const files = await fetchModelFiles(genaiBase, { fetch });
    expect(files.configFile).toBe('genai_config.json');
    expect(files.onnxFile).toBe('model.onnx');
    const model = await createWasmBackend({ fetch }).load(genaiBase);
    try {
      expect(requested).toContain(`${genaiBase}/model.onnx.data`);
      expect(model.info).toMatchObject({ vocabSize: 32000, numLayers: 2, eosTokenIds: [1] });
      const { tokens } = await createDecoder({ model }).generate(
        { tokens: [0, 450, 4996] },
        { maxTokens: 6, temperature: 0 },
      );
      expect(tokens).toHaveLength(6);
    } finally {
      await model.dispose();
    }
  });

  it('loads a split decoder_model + decoder_with_past_model pair from a URL', async () => {
    const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
    const { files } = convertLlama2c({
      checkpoint: new Uint8Array(await readFile(join(source, 'stories260K.bin'))),
      tokenizer: new Uint8Array(await readFile(join(source, 'tok512.bin'))),
      plain: true,
      layout: 'split',
    });
    const folder = writeFolder('browser-split', files);
    const splitBase = 'https://models.test/split';
    const fetch = async (url: string) => {
      try {
        return new Response(await readFile(join(folder, url.slice(splitBase.length + 1))));
      } catch {
        return new Response('not found', { status: 404 });
      }
    };
    const model = await createWasmBackend({ fetch, createTokenizer: stubTokenizerFactory }).load(
      splitBase,
    );
    try {
      const { promptIds, generatedIds } = stories260KGolden();
      const { tokens } = await createDecoder({ model }).generate(
        { tokens: promptIds },
        { maxTokens: 12, temperature: 0 },
      );
      expect(tokens).toEqual(generatedIds.slice(0, 12));
    } finally {
      await model.dispose();
    }
  });

  it('loads a hub id resolved the browser way (resolveHubFiles + hubModelFiles): a split pair by dtype', async () => {
    const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
    const { files } = convertLlama2c({
      checkpoint: new Uint8Array(await readFile(join(source, 'stories260K.bin'))),
      tokenizer: new Uint8Array(await readFile(join(source, 'tok512.bin'))),
      plain: true,
      layout: 'split',
    });
    // transformers.js names the fp16 pair decoder_model_fp16.onnx + decoder_with_past_model_fp16.onnx: serve the
    // float32 pair under those names too, so only the right pick can load.
    const repo: Record<string, Uint8Array | string> = { ...files };
    repo['onnx/decoder_model_fp16.onnx'] = files['onnx/decoder_model.onnx'];
    repo['onnx/decoder_with_past_model_fp16.onnx'] = files['onnx/decoder_with_past_model.onnx'];
    const hub = await startLocalHub({ 'test-org/split': { files: repo } });
    try {
      const resolved = await resolveHubFiles('test-org/split', {
        endpoint: hub.endpoint,
        dtype: 'fp16',
        cache: null,
      });
      const modelFiles = hubModelFiles(resolved);
      expect(modelFiles).toMatchObject({
        onnxFile: 'onnx/decoder_with_past_model_fp16.onnx',
        firstOnnxFile: 'onnx/decoder_model_fp16.onnx',
      });
      const model = await createWasmBackend({ createTokenizer: stubTokenizerFactory }).load(
        modelFiles,
        { name: 'test-org/split' },
      );
      try {
        const { promptIds, generatedIds } = stories260KGolden();
        const { tokens } = await createDecoder({ model }).generate(
          { tokens: promptIds },
          { maxTokens: 12, temperature: 0 },
        );
        expect(tokens).toEqual(generatedIds.slice(0, 12));
      } finally {
        await model.dispose();
      }
    } finally {
      await hub.close();
    }
  });

  it('loads a hub model whose graph keeps its weights in external data (bytes + externalData on wasm; refused on CPU)', async () => {
    // The onnxruntime-genai fp16 export laid out as a transformers.js repository: onnx/model.onnx with the
    // onnx/model.onnx.data it references, and a config.json written from its genai_config.json.
    const folder = hfExportFolder('onnxruntime-genai-tiny-random-llama-fp16');
    const genai = JSON.parse(await readFile(join(folder, 'genai_config.json'), 'utf8'));
    const repo = {
      'config.json': JSON.stringify(configFromGenai(genai).config),
      'tokenizer.json': await readFile(join(folder, 'tokenizer.json'), 'utf8'),
      'tokenizer_config.json': await readFile(join(folder, 'tokenizer_config.json'), 'utf8'),
      'onnx/model.onnx': new Uint8Array(await readFile(join(folder, 'model.onnx'))),
      'onnx/model.onnx.data': new Uint8Array(await readFile(join(folder, 'model.onnx.data'))),
    };
    const hub = await startLocalHub({ 'test-org/external': { files: repo } });
    try {
      const modelFiles = hubModelFiles(
        await resolveHubFiles('test-org/external', { endpoint: hub.endpoint, cache: null }),
      );
      expect(modelFiles.externalData?.map(data => data.path)).toEqual(['model.onnx.data']);
      const fromHub = await createWasmBackend().load(modelFiles, { name: 'test-org/external' });
      const genaiBase = 'https://models.test/genai';
      const fetch = async (url: string) => {
        try {
          return new Response(await readFile(join(folder, url.slice(genaiBase.length + 1))));
        } catch {
          return new Response('not found', { status: 404 });
        }
      };
      const fromFolder = await createWasmBackend({ fetch }).load(genaiBase);
      try {
        const generate = async (model: typeof fromHub) =>
          (
            await createDecoder({ model }).generate(
              { tokens: [0, 450, 4996] },
              { maxTokens: 8, temperature: 0 },
            )
          ).tokens;
        expect(await generate(fromHub)).toEqual(await generate(fromFolder));
      } finally {
        await fromHub.dispose();
        await fromFolder.dispose();
      }
      // onnxruntime-node reads external data only beside a graph file: a typed error, not a runtime failure.
      await expect(createCpuBackend().load(modelFiles)).rejects.toThrow(
        /external data \(model\.onnx\.data\).*Load the model folder instead/,
      );
    } finally {
      await hub.close();
    }
  });

  it('reports an unreachable server as ModelNotFoundError', async () => {
    const fetch = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(fetchModelFiles(base, { fetch })).rejects.toSatisfy(ModelNotFoundError.isInstance);
  });
});
