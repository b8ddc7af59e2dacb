/**
 * Every variant decodekit's converter writes (docs/graph-io.md, "Bring your own model") loads through the CPU
 * backend and decodes the ids of a minimal hand-written onnxruntime-node loop over the same files: float16
 * KV cache and logits, int8 and 4-bit (com.microsoft MatMulNBits) weights, merged decoders with
 * use_cache_branch, split decoder_model + decoder_with_past_model pairs, graphs without position_ids, graphs
 * with num_logits_to_keep, and com.microsoft GroupQueryAttention fed seqlens_k / total_sequence_length.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDecoder, type LoadedModel } from '@decodekit/core';
import { convertLlama2c, type ConvertLlama2cInput } from '@decodekit/models';
import { runBackendConformance } from '@decodekit/conformance';
import { assert, describe, expect, it } from 'vitest';
import { minimalGreedy } from './__fixtures__/minimal-loop';
import { MODELS_ROOT, hfExportFolder, writeFolder } from './__fixtures__/model-folders';
import { createCpuBackend, describeGraph, loadModel } from './index';

const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
const checkpoint = new Uint8Array(readFileSync(join(source, 'stories260K.bin')));
const tokenizer = new Uint8Array(readFileSync(join(source, 'tok512.bin')));
const prompt = [1, 403, 407, 261, 378]; // "Once upon a time"
const steps = 40;

type Variant = Omit<ConvertLlama2cInput, 'checkpoint' | 'tokenizer'>;

function variantFolder(name: string, variant: Variant): string {
  return writeFolder(
    `variant-${name}`,
    convertLlama2c({ checkpoint, tokenizer, ...variant }).files,
  );
}

async function greedyIds(model: LoadedModel): Promise<number[]> {
  const decoder = createDecoder({ model, tokenizer: model.tokenizer });
  return (await decoder.generate({ tokens: prompt }, { maxTokens: steps, temperature: 0 })).tokens;
}

describe.each([
  {
    name: 'fp16',
    variant: { plain: true, dtype: 'fp16' },
    kvType: 'float16',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'q8',
    variant: { plain: true, dtype: 'q8' },
    kvType: 'float32',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'q4',
    variant: { plain: true, dtype: 'q4' },
    kvType: 'float32',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'q4f16',
    variant: { plain: true, dtype: 'q4f16' },
    kvType: 'float16',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'merged',
    variant: { plain: true, layout: 'merged' },
    kvType: 'float32',
    graph: 'onnx/decoder_model_merged.onnx',
  },
  {
    name: 'split',
    variant: { plain: true, layout: 'split' },
    kvType: 'float32',
    graph: 'onnx/decoder_with_past_model.onnx',
  },
  {
    name: 'no-position-ids',
    variant: { plain: true, positionIds: false },
    kvType: 'float32',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'logits-to-keep',
    variant: { plain: true, logitsToKeep: true },
    kvType: 'float32',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'q4f16-merged',
    variant: { plain: true, dtype: 'q4f16', layout: 'merged' },
    kvType: 'float16',
    graph: 'onnx/decoder_model_merged.onnx',
  },
  {
    name: 'group-query',
    variant: { plain: true, attention: 'group-query' },
    kvType: 'float32',
    graph: 'onnx/model.onnx',
  },
  {
    name: 'group-query-q4-split',
    variant: { plain: true, attention: 'group-query', dtype: 'q4', layout: 'split' },
    kvType: 'float32',
    graph: 'onnx/decoder_with_past_model.onnx',
  },
] as const)('converter variant $name', ({ name, variant, kvType, graph }) => {
  it("loads with loadModel() and decodes the minimal onnxruntime-node loop's greedy ids", async () => {
    const folder = variantFolder(name, variant as Variant);
    const model = await loadModel(folder);
    try {
      const report = describeGraph(model);
      expect(report).toMatchObject({
        graph,
        kvType,
        logitsType: kvType,
        multiRow: { prefill: true, onCache: true },
      });
      expect(model.capabilities.tree).toBe(false); // plain exports: chains only
      const layout = (variant as Variant).layout;
      const expected = await minimalGreedy(
        layout === 'split'
          ? {
              graph: join(folder, 'onnx', 'decoder_with_past_model.onnx'),
              first: join(folder, 'onnx', 'decoder_model.onnx'),
            }
          : { graph: join(folder, ...graph.split('/')) },
        prompt,
        steps,
        { eos: model.info.eosTokenIds },
      );
      expect(expected.length).toBe(steps);
      expect(await greedyIds(model)).toEqual(expected);
    } finally {
      await model.dispose();
    }
  });
});

describe('converter variants with decodekit extensions', () => {
  it.each([
    { dtype: 'fp16', layout: 'single' },
    { dtype: 'q4', layout: 'merged' },
    { dtype: 'q8', layout: 'split' },
  ] as const)(
    '$dtype $layout keeps tree attention and decodes like its plain twin',
    async ({ dtype, layout }) => {
      const backend = createCpuBackend();
      const extended = await backend.load(
        variantFolder(`${dtype}-${layout}-ext`, { dtype, layout }),
      );
      const plain = await backend.load(
        variantFolder(`${dtype}-${layout}-plain`, { dtype, layout, plain: true }),
      );
      try {
        expect(extended.capabilities).toMatchObject({
          tree: true,
          hiddenStates: true,
          layerSkip: true,
        });
        expect(await greedyIds(extended)).toEqual(await greedyIds(plain));
      } finally {
        await extended.dispose();
        await plain.dispose();
      }
    },
  );
});

describe('a q8 graph with per-tensor dynamic activation quantization (DynamicQuantizeLinear)', () => {
  it('is found at load to give other logits for several rows, and verifies them one row at a time', async () => {
    const folder = variantFolder('q8-per-tensor', {
      plain: true,
      dtype: 'q8',
      q8Activations: 'per-tensor',
    });
    const model = await loadModel(folder);
    try {
      const description = describeGraph(model);
      assert(description, 'an onnx LoadedModel has a graph description');
      const { multiRow } = description;
      expect(multiRow).toMatchObject({ prefill: true, onCache: false });
      expect(multiRow.reason).toMatch(
        /several tokens on top of a cache give other logits than one token at a time/,
      );
      // Served row by row, a 3-row forward on a cache returns exactly the logits of three 1-row forwards.
      const sequence = model.createSequence();
      await sequence.forward({ tokens: Int32Array.from(prompt) });
      sequence.commit(prompt.map((_, index) => index));
      const fork = sequence.fork();
      const rows = [432, 383, 286];
      const { logits } = await sequence.forward({ tokens: Int32Array.from(rows) });
      const vocab = model.info.vocabSize;
      for (const [row, token] of rows.entries()) {
        const single = await fork.forward({ tokens: Int32Array.of(token) });
        fork.commit([0]);
        expect(logits.subarray(row * vocab, (row + 1) * vocab)).toEqual(single.logits);
      }
      const expected = await minimalGreedy(
        { graph: join(folder, 'onnx', 'model.onnx') },
        prompt,
        steps,
        { eos: model.info.eosTokenIds },
      );
      expect(await greedyIds(model)).toEqual(expected);
    } finally {
      await model.dispose();
    }
  });
});

// The backend's contract on float16 caches (gathers, masked tree commits, truncate, fork keep Uint16Array bits):
// rows computed different ways agree to within float16 rounding of the logits.
runBackendConformance('onnx-cpu, float16 KV cache and logits (stories260K --dtype fp16)', {
  makeModel: () => createCpuBackend().load(variantFolder('conformance-fp16', { dtype: 'fp16' })),
  makePlainModel: () =>
    createCpuBackend().load(
      variantFolder('conformance-fp16-plain', { dtype: 'fp16', plain: true }),
    ),
  tolerance: 2e-2,
});

// A third-party export whose multi-row forwards on a cache run one row at a time.
runBackendConformance(
  'onnx-cpu, onnxruntime-genai fp16 export (rows on a cache served one at a time)',
  {
    makeModel: () => loadModel(hfExportFolder('onnxruntime-genai-tiny-random-llama-fp16')),
    tolerance: 1e-3,
  },
);
