import { ModelFormatError, ModelNotFoundError, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  stories260KFolder,
  stories260KGolden,
  stubTokenizerFactory,
  writeFolder,
} from './__fixtures__/model-folders';
import { runBackendConformance } from '@decodekit/conformance';
import { createCpuBackend } from './index';

const backend = createCpuBackend({ createTokenizer: stubTokenizerFactory });

runBackendConformance('onnx-cpu (stories260K)', {
  makeModel: () => backend.load(stories260KFolder()),
  makePlainModel: () => backend.load(stories260KFolder({ plain: true })),
});

/** Greedy decoding with forward + commit, one token per step. */
async function greedy(
  model: LoadedModel,
  prompt: readonly number[],
  steps: number,
): Promise<number[]> {
  const sequence = model.createSequence();
  const vocab = model.info.vocabSize;
  let { logits } = await sequence.forward({ tokens: Int32Array.from(prompt) });
  sequence.commit(prompt.map((_, index) => index));
  const generated: number[] = [];
  for (let step = 0; step < steps; step++) {
    const row = logits.subarray(logits.length - vocab);
    let best = 0;
    for (let token = 1; token < vocab; token++) if (row[token] > row[best]) best = token;
    generated.push(best);
    ({ logits } = await sequence.forward({ tokens: Int32Array.of(best) }));
    sequence.commit([0]);
  }
  return generated;
}

describe('createCpuBackend', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await backend.load(stories260KFolder());
  });
  afterAll(() => model?.dispose());

  it('reads ModelInfo and capabilities from the folder', () => {
    expect(model.info).toMatchObject({
      vocabSize: 512,
      contextLength: 512,
      numLayers: 5,
      hiddenSize: 64,
      bosTokenId: 1,
      eosTokenIds: [1, 2],
      name: 'stories260K',
    });
    expect(model.capabilities).toEqual({
      tree: true,
      hiddenStates: true,
      layerSkip: true,
      inputEmbeddings: true,
      backendId: 'onnx-cpu',
    });
    expect(model.source).toBe(stories260KFolder());
    expect(model.generationConfig).toMatchObject({ eos_token_id: [1, 2] });
  });

  it('decodes stories260K greedily exactly like llama2.c (100 tokens)', async () => {
    const { promptIds, generatedIds } = stories260KGolden();
    expect(await greedy(model, promptIds, 100)).toEqual(generatedIds.slice(0, 100));
  });

  it('decodes the plain export greedily exactly like llama2.c', async () => {
    const plain = await backend.load(stories260KFolder({ plain: true }));
    try {
      expect(plain.capabilities).toEqual({
        tree: false,
        hiddenStates: false,
        layerSkip: false,
        inputEmbeddings: false,
        backendId: 'onnx-cpu',
      });
      const { promptIds, generatedIds } = stories260KGolden();
      expect(await greedy(plain, promptIds, 100)).toEqual(generatedIds.slice(0, 100));
    } finally {
      await plain.dispose();
    }
  });
});

describe('createCpuBackend with the default tokenizer', () => {
  it("loads the folder's tokenizer.json through core's createTokenizer", async () => {
    const model = await createCpuBackend().load(stories260KFolder());
    try {
      const { promptIds } = stories260KGolden();
      expect(model.tokenizer.encode('Once upon a time')).toEqual(promptIds);
      expect(model.tokenizer.vocabSize).toBe(512);
      expect(model.tokenizer.decode(promptIds)).toBe('Once upon a time');
    } finally {
      await model.dispose();
    }
  });
});

describe('createCpuBackend errors', () => {
  const folderFiles = async () => {
    const { readFileSync, readdirSync, statSync } = await import('node:fs');
    const { join, relative } = await import('node:path');
    const root = stories260KFolder({ plain: true });
    const files: Record<string, Uint8Array> = {};
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else files[relative(root, path)] = new Uint8Array(readFileSync(path));
      }
    };
    walk(root);
    return files;
  };

  async function loadError(source: string): Promise<unknown> {
    try {
      await backend.load(source);
    } catch (error) {
      return error;
    }
    throw new Error('expected load() to fail');
  }

  it('names the folder when it does not exist', async () => {
    const error = await loadError('/nonexistent/decodekit-model');
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('/nonexistent/decodekit-model');
  });

  it.each(['config.json', 'tokenizer.json', 'onnx/model.onnx'])(
    'names a missing %s',
    async file => {
      const files = await folderFiles();
      delete files[file];
      const error = await loadError(writeFolder(`missing-${file.replace('/', '-')}`, files));
      expect(ModelFormatError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(file.split('/').pop());
      expect((error as Error).message).toContain('decodekit convert');
    },
  );

  it('turns a corrupt graph into ModelFormatError with the runtime error as cause', async () => {
    const files = await folderFiles();
    const onnx = files['onnx/model.onnx'];
    files['onnx/model.onnx'] = onnx.slice(0, Math.floor(onnx.length / 3));
    const error = await loadError(writeFolder('corrupt-onnx', files));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as ModelFormatError).path).toBe('onnx/model.onnx');
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as Error).message).not.toMatch(/\n\s+at /);
  });

  it.each([
    { patch: { vocab_size: 500 }, text: /vocab_size/ },
    { patch: { num_hidden_layers: 4 }, text: /num_hidden_layers/ },
  ])('rejects a config that does not match the graph ($patch)', async ({ patch }) => {
    const files = await folderFiles();
    const config = JSON.parse(new TextDecoder().decode(files['config.json']));
    files['config.json'] = new TextEncoder().encode(JSON.stringify({ ...config, ...patch }));
    const error = await loadError(writeFolder(`config-${Object.keys(patch)[0]}`, files));
    expect(ModelFormatError.isInstance(error)).toBe(true);
  });

  it('rejects a tokenizer larger than the head', async () => {
    const files = await folderFiles();
    const tokenizer = JSON.parse(new TextDecoder().decode(files['tokenizer.json']));
    tokenizer.model.vocab['<extra>'] = 9999;
    files['tokenizer.json'] = new TextEncoder().encode(JSON.stringify(tokenizer));
    const error = await loadError(writeFolder('big-tokenizer', files));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as ModelFormatError).path).toBe('tokenizer.json');
  });

  it('loads already-read ModelFiles', async () => {
    const files = await folderFiles();
    const json = (file: string) => JSON.parse(new TextDecoder().decode(files[file]));
    const model = await backend.load(
      {
        config: json('config.json'),
        generationConfig: json('generation_config.json'),
        tokenizer: json('tokenizer.json'),
        tokenizerConfig: json('tokenizer_config.json'),
        onnx: files['onnx/model.onnx'],
      },
      { name: 'in-memory' },
    );
    expect(model.info.name).toBe('in-memory');
    await model.dispose();
  });
});
