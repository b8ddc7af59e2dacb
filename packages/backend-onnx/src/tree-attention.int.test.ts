/**
 * Tree attention for standard exports (`decodekit convert --tree-attention`, @decodekit/models'
 * addTreeAttentionToFolder): the rewritten graphs take `attention_bias`, load with `capabilities.tree`, decode
 * the greedy ids of the untouched export, and compute every row of a draft tree as the chain of its path.
 * Covered mask patterns: com.microsoft MultiHeadAttention (the onnxruntime-genai fp16 fixture), com.microsoft
 * GroupQueryAttention and decomposed Softmax(QKᵀ + mask) (decodekit's --plain conversions, every dtype and
 * decoder layout).
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDecoder, ModelFormatError, type CausalLM, type LoadedModel } from '@decodekit/core';
import {
  buildLlamaGraph,
  buildRandomLlama,
  buildTinyGpt2,
  convertLlama2c,
  randomLlamaWeights,
  type ConvertLlama2cInput,
  type LlamaConfig,
} from '@decodekit/models';
import { addTreeAttentionToFolder } from '@decodekit/models/node';
import { runBackendConformance } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { minimalGreedy } from './__fixtures__/minimal-loop';
import { MODELS_ROOT, hfExportFolder, writeFolder } from './__fixtures__/model-folders';
import { describeGraph, loadModel } from './index';

const genaiFp16 = hfExportFolder('onnxruntime-genai-tiny-random-llama-fp16');
const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
const checkpoint = new Uint8Array(readFileSync(join(source, 'stories260K.bin')));
const tokenizer = new Uint8Array(readFileSync(join(source, 'tok512.bin')));
const work = mkdtempSync(join(tmpdir(), 'decodekit-tree-attention-'));
const prompt = [1, 403, 407, 261, 378]; // "Once upon a time"

type Variant = Omit<ConvertLlama2cInput, 'checkpoint' | 'tokenizer'>;

function variantFolder(name: string, variant: Variant): string {
  return writeFolder(
    `plain-${name}`,
    convertLlama2c({ checkpoint, tokenizer, plain: true, ...variant }).files,
  );
}

const rewritten = new Map<string, Promise<string>>();
/** The folder with attention_bias added (rewritten once per test process). */
function treeFolder(name: string, folder: string): Promise<string> {
  let pending = rewritten.get(name);
  if (pending === undefined) {
    pending = addTreeAttentionToFolder(folder, join(work, name)).then(result => result.folder);
    rewritten.set(name, pending);
  }
  return pending;
}

async function greedyIds(model: LoadedModel, tokens: readonly number[], steps: number) {
  const decoder = createDecoder({ model, tokenizer: model.tokenizer });
  return (await decoder.generate({ tokens }, { maxTokens: steps, temperature: 0 })).tokens;
}

/** Largest logit difference between the rows of one tree forward and the chains of their paths. */
async function treeVersusPaths(model: CausalLM, context: readonly number[]): Promise<number> {
  const parents = [-1, 0, 0, 1, 2, 2, -1];
  const tokens = [5, 17, 29, 41, 53, 67, 79].map(token => token % model.info.vocabSize);
  const base = model.createSequence();
  await base.forward({ tokens: Int32Array.from(context) });
  base.commit(context.map((_, index) => index));
  const { logits } = await base.forward({
    tokens: Int32Array.from(tokens),
    parents: Int32Array.from(parents),
  });
  const vocab = model.info.vocabSize;
  let worst = 0;
  for (let row = 0; row < parents.length; row++) {
    const path: number[] = [];
    for (let node = row; node >= 0; node = parents[node]) path.unshift(tokens[node]);
    const chain = base.fork();
    const chainLogits = (await chain.forward({ tokens: Int32Array.from(path) })).logits;
    const last = chainLogits.subarray((path.length - 1) * vocab, path.length * vocab);
    const rowLogits = logits.subarray(row * vocab, (row + 1) * vocab);
    for (let index = 0; index < vocab; index++)
      worst = Math.max(worst, Math.abs(last[index] - rowLogits[index]));
    chain.dispose();
  }
  base.dispose();
  return worst;
}

describe('the onnxruntime-genai fp16 export (MultiHeadAttention) with attention_bias', () => {
  it("loads with tree attention and several rows on a cache, and decodes the original's greedy ids", async () => {
    const model = await loadModel(await treeFolder('genai', genaiFp16));
    try {
      expect(model.capabilities.tree).toBe(true);
      // The export's own mask cannot widen to rows on a cache; the bias can.
      expect(describeGraph(model)?.multiRow).toMatchObject({ prefill: true, onCache: true });
      const tokens = [0, 450, 4996, 17354, 1701, 29916, 432];
      const expected = await minimalGreedy({ graph: join(genaiFp16, 'model.onnx') }, tokens, 24, {
        eos: model.info.eosTokenIds,
      });
      expect(await greedyIds(model, tokens, 24)).toEqual(expected);
      expect(await treeVersusPaths(model, tokens)).toBeLessThan(2e-2);
    } finally {
      await model.dispose();
    }
  });
});

runBackendConformance('onnx-cpu, onnxruntime-genai fp16 export rewritten for tree attention', {
  makeModel: async () => loadModel(await treeFolder('genai', genaiFp16)),
  makePlainModel: () => loadModel(genaiFp16),
  tolerance: 2e-2,
});

describe.each([
  { name: 'fp32', variant: {}, tolerance: 1e-4 },
  { name: 'fp16', variant: { dtype: 'fp16' }, tolerance: 2e-2 },
  { name: 'q8', variant: { dtype: 'q8' }, tolerance: 1e-4 },
  { name: 'q4f16-merged', variant: { dtype: 'q4f16', layout: 'merged' }, tolerance: 2e-2 },
  { name: 'split', variant: { layout: 'split' }, tolerance: 1e-4 },
  { name: 'logits-to-keep', variant: { logitsToKeep: true }, tolerance: 1e-4 },
  { name: 'group-query', variant: { attention: 'group-query' }, tolerance: 1e-4 },
] as const)('a --plain $name conversion with attention_bias', ({ name, variant, tolerance }) => {
  it("verifies trees in one forward and decodes the plain graph's greedy ids", async () => {
    const plainFolder = variantFolder(name, variant as Variant);
    const model = await loadModel(await treeFolder(name, plainFolder));
    const plain = await loadModel(plainFolder);
    try {
      expect(model.capabilities.tree).toBe(true);
      expect(plain.capabilities.tree).toBe(false);
      expect(await greedyIds(model, prompt, 32)).toEqual(await greedyIds(plain, prompt, 32));
      expect(await treeVersusPaths(model, prompt)).toBeLessThan(tolerance);
    } finally {
      await model.dispose();
      await plain.dispose();
    }
  });
});

runBackendConformance('onnx-cpu, GroupQueryAttention conversion rewritten for tree attention', {
  makeModel: async () =>
    loadModel(
      await treeFolder(
        'group-query-conformance',
        variantFolder('group-query-conformance', { attention: 'group-query' }),
      ),
    ),
  tolerance: 1e-4,
});

describe('GroupQueryAttention that rotates Q and K itself (do_rotary, as onnxruntime-genai writes it)', () => {
  const config: LlamaConfig = {
    vocabSize: 64,
    dim: 64,
    hiddenDim: 128,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: 128,
    tiedEmbeddings: true,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  };
  const options = {
    seed: 5,
    vocabSize: 64,
    dim: 64,
    hiddenDim: 128,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: 128,
    plain: true,
  };
  const decomposed = writeFolder('random-decomposed', buildRandomLlama(options).files);
  const fused = writeFolder('random-gqa-rotary', {
    ...buildRandomLlama(options).files,
    'onnx/model.onnx': buildLlamaGraph(config, randomLlamaWeights(config, 5), {
      plain: true,
      attention: 'group-query',
      groupQueryRotary: true,
    }),
  });
  const tokens = [1, 7, 9, 11, 7, 9];

  it('decodes the greedy ids of the same weights with decomposed attention', async () => {
    const model = await loadModel(fused);
    const reference = await loadModel(decomposed);
    try {
      const ids = await greedyIds(model, tokens, 24);
      expect(ids.length).toBeGreaterThan(8);
      expect(ids).toEqual(await greedyIds(reference, tokens, 24));
    } finally {
      await model.dispose();
      await reference.dispose();
    }
  });

  it('rewritten, rotates tree rows by depth: rows equal the chains of their paths', async () => {
    const model = await loadModel(await treeFolder('random-gqa-rotary', fused));
    try {
      expect(model.capabilities.tree).toBe(true);
      expect(await treeVersusPaths(model, tokens)).toBeLessThan(1e-4);
    } finally {
      await model.dispose();
    }
  });
});

describe('a GPT-2-layout model (learned positions gathered by position_ids, the eager Where mask)', () => {
  const gpt2 = writeFolder('tiny-gpt2', buildTinyGpt2({ seed: 3 }).files);
  const gpt2Prompt = [1, 4, 14, 4, 20, 5, 9, 4, 14, 4, 20, 5];

  it("loads unchanged (chains only) and decodes the minimal onnxruntime-node loop's greedy ids", async () => {
    const model = await loadModel(gpt2);
    try {
      expect(model.info).toMatchObject({ vocabSize: 64, contextLength: 128, numLayers: 2 });
      expect(model.capabilities.tree).toBe(false);
      expect(describeGraph(model)?.multiRow).toMatchObject({ prefill: true, onCache: true });
      const expected = await minimalGreedy(
        { graph: join(gpt2, 'onnx', 'model.onnx') },
        gpt2Prompt,
        40,
        { eos: model.info.eosTokenIds },
      );
      expect(expected.length).toBeGreaterThan(20);
      expect(await greedyIds(model, gpt2Prompt, 40)).toEqual(expected);
    } finally {
      await model.dispose();
    }
  });

  it('with attention_bias: trees in one forward at their depths, greedy ids unchanged', async () => {
    const model = await loadModel(await treeFolder('tiny-gpt2', gpt2));
    const plain = await loadModel(gpt2);
    try {
      expect(model.capabilities.tree).toBe(true);
      expect(await greedyIds(model, gpt2Prompt, 40)).toEqual(
        await greedyIds(plain, gpt2Prompt, 40),
      );
      expect(await treeVersusPaths(model, gpt2Prompt)).toBeLessThan(1e-4);
    } finally {
      await model.dispose();
      await plain.dispose();
    }
  });
});

describe('graphs the rewrite refuses', () => {
  it('a graph without position_ids, naming the input', async () => {
    const folder = variantFolder('no-position-ids', { positionIds: false });
    const error = await addTreeAttentionToFolder(folder, join(work, 'no-position-ids')).catch(
      (caught: unknown) => caught,
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/onnx\/model\.onnx: has no position_ids input/);
  });

  it('a graph that already has attention_bias', async () => {
    const folder = writeFolder(
      'extended',
      convertLlama2c({ checkpoint, tokenizer, plain: false }).files,
    );
    const error = await addTreeAttentionToFolder(folder, join(work, 'extended')).catch(
      (caught: unknown) => caught,
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('already has an attention_bias input');
  });
});
