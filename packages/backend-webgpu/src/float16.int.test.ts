/**
 * float16 KV caches on WebGPU in Node: the converter's fp16 variant of stories260K keeps its cache float16 on
 * the device — forwards, masked tree commits and the device-side gathers of compaction and truncate — and reads
 * back only float16 logits, widened once on the host; greedy ids must equal the CPU backend's on the same folder.
 * That needs a device with float16 shaders (WebGPU's "shader-f16"). SwiftShader, which CI uses without a GPU,
 * has none, in Node (Dawn) and in headless Chromium alike: there the load must refuse the graph with an
 * UnsupportedCapabilityError, and the float16 checks are skipped with that reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  UnsupportedCapabilityError,
  createDecoder,
  type CausalLM,
  type LoadedModel,
} from '@decodekit/core';
import { createCpuBackend, describeGraph } from '@decodekit/backend-onnx';
import { convertLlama2c } from '@decodekit/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MODELS_ROOT,
  stories260KFolder,
  useSwiftShaderUnlessSet,
  writeFolder,
} from './__fixtures__/models';
import { buildGatherGraph, gatherInputName, gatherOutputName } from './gather-graph';
import { createWebGpuBackend, type WebGpuModel } from './index';

useSwiftShaderUnlessSet();

/**
 * Largest absolute logit difference between two ways of computing the same row in float16 (logits of magnitude
 * ~10 carry a float16 rounding step of ~0.008; attention sums in another order move a few steps).
 */
const FP16_TOLERANCE = 0.05;

function fp16Folder(): string {
  const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
  const { files } = convertLlama2c({
    checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
    tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
    dtype: 'fp16',
    name: 'karpathy/tinyllamas/stories260K',
  });
  return writeFolder('stories260K-fp16', files);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index++) max = Math.max(max, Math.abs(a[index] - b[index]));
  return max;
};

describe('the float16 gather graph', () => {
  it('gathers float16 cache tensors bit for bit (CPU provider)', async () => {
    const session = await ort.InferenceSession.create(buildGatherGraph(2, 'float16'));
    const [heads, slots, headDim] = [2, 4, 3];
    const feeds: Record<string, ort.Tensor> = {};
    for (let index = 0; index < 2; index++) {
      // Arbitrary bit patterns, NaN payloads and negative zero included: a gather must not convert values.
      const bits = Uint16Array.from(
        { length: heads * slots * headDim },
        (_, k) => (index * 0x3001 + k * 0x0fed) & 0xffff,
      );
      bits[0] = 0x8000;
      bits[1] = 0x7e01;
      feeds[gatherInputName(index)] = new ort.Tensor('float16', bits, [1, heads, slots, headDim]);
    }
    const kept = [3, 0, 1];
    feeds.indices = new ort.Tensor('int64', BigInt64Array.from(kept.map(BigInt)), [kept.length]);
    const outputs = await session.run(feeds);
    for (let index = 0; index < 2; index++) {
      const output = outputs[gatherOutputName(index)];
      expect(output.type).toBe('float16');
      const source = feeds[gatherInputName(index)].data as Uint16Array;
      const expected: number[] = [];
      for (let head = 0; head < heads; head++)
        for (const slot of kept)
          for (let d = 0; d < headDim; d++)
            expected.push(source[(head * slots + slot) * headDim + d]);
      expect(Array.from(output.data as Uint16Array)).toEqual(expected);
    }
    await session.release();
  });
});

/**
 * The float16 checks, on the WebGPU provider and on ONNX Runtime's CPU provider. The CPU run goes through the
 * same device engine and KV ledger (sessionOptions replace the execution providers), so the engine's float16
 * handling — an empty float16 cache, float16 gathers, logits widened on the host — is checked on every machine,
 * with or without float16 shaders.
 */
describe.each([
  { provider: 'webgpu', sessionOptions: {}, kvLocation: 'gpu-buffer' },
  { provider: 'cpu', sessionOptions: { executionProviders: ['cpu'] }, kvLocation: 'cpu' },
])(
  'onnx-webgpu with a float16 KV cache (stories260K --dtype fp16) on the $provider provider',
  ({ provider, sessionOptions, kvLocation }) => {
    const backend = createWebGpuBackend({ sessionOptions });
    let gpu: WebGpuModel | undefined;
    let cpu: LoadedModel;
    /** Why this device cannot run float16 graphs (the load's UnsupportedCapabilityError), if it cannot. */
    let noHalf: UnsupportedCapabilityError | undefined;
    beforeAll(async () => {
      const folder = fp16Folder();
      cpu = await createCpuBackend().load(folder);
      try {
        gpu = (await backend.load(folder)) as WebGpuModel;
      } catch (error) {
        if (!(UnsupportedCapabilityError.isInstance(error) && error.capability === 'shader-f16'))
          throw error;
        noHalf = error;
      }
    }, 120_000);
    afterAll(async () => {
      await gpu?.dispose();
      await cpu?.dispose();
    });

    /** The model, or a skip that says why this device cannot run it. */
    const halfModel = (context: { skip(note: string): never }): WebGpuModel => {
      if (gpu === undefined)
        context.skip(`this WebGPU device runs no float16 kernels: ${noHalf?.message}`);
      return gpu;
    };

    it('without float16 kernels (SwiftShader), load() refuses the graph with UnsupportedCapabilityError and says what to use', async context => {
      const refusal = noHalf;
      if (refusal === undefined)
        return context.skip(`the ${provider} provider runs float16 kernels here`);
      expect(refusal.message).toContain('"shader-f16"');
      expect(refusal.message).toMatch(/float32 export/);
      expect(refusal.message).toMatch(/CPU or wasm backend/);
      // The refusal leaves the backend usable for float32 graphs.
      const model = await backend.load(stories260KFolder());
      try {
        const { logits } = await model.createSequence().forward({ tokens: Int32Array.of(1, 403) });
        expect(logits.length).toBe(2 * 512);
      } finally {
        await model.dispose();
      }
    });

    it('keeps the cache float16 and reads back float16 logits only', async context => {
      const gpu = halfModel(context);
      expect(describeGraph(cpu)).toMatchObject({ kvType: 'float16', logitsType: 'float16' });
      const before = { ...gpu.deviceStats };
      const sequence = gpu.createSequence();
      const { logits } = await sequence.forward({ tokens: Int32Array.of(1, 403, 407) });
      sequence.dispose();
      expect(gpu.deviceStats).toMatchObject({ kvLocation, kvType: 'float16' });
      expect(logits).toBeInstanceOf(Float32Array);
      expect(logits.length).toBe(3 * 512);
      // 3 rows of float16 logits (2 bytes each) and float32 hidden_states (64 × 4 bytes): nothing else.
      expect(gpu.deviceStats.readbackBytes - before.readbackBytes).toBe(3 * (512 * 2 + 64 * 4));
    });

    it('decodes the CPU backend greedy ids on the same fp16 folder', async context => {
      const gpu = halfModel(context);
      const generate = async (model: CausalLM) =>
        (
          await createDecoder({ model }).generate(
            { tokens: [1, 403, 407, 261, 378] },
            { maxTokens: 40, temperature: 0 },
          )
        ).tokens;
      const gpuIds = await generate(gpu);
      expect(gpuIds).toHaveLength(40);
      expect(gpuIds).toEqual(await generate(cpu));
    });

    it('masked tree commits, compaction and truncate gather float16 and keep the right cache', async context => {
      const gpu = halfModel(context);
      const base = { ...gpu.deviceStats };
      const sequence = gpu.createSequence();
      await sequence.forward({ tokens: Int32Array.of(1, 403, 407, 261, 378) });
      sequence.commit([0, 1, 2, 3, 4]);
      // 13 tree forwards of 5 roots keeping 1 each: 52 dead slots > 48 → one compaction (a gather).
      for (let step = 0; step < 13; step++) {
        await sequence.forward({
          tokens: Int32Array.of(300, 301, 302, 303, 304),
          parents: Int32Array.of(-1, -1, -1, -1, -1),
        });
        sequence.commit([step % 5]);
      }
      const { logits: afterCommits } = await sequence.forward({ tokens: Int32Array.of(410) });
      sequence.truncate(10);
      const { logits: afterTruncate } = await sequence.forward({ tokens: Int32Array.of(410) });
      expect(gpu.deviceStats.gathers - base.gathers).toBe(2);
      expect(gpu.deviceStats.kvType).toBe('float16');
      // Each equals the CPU backend's row for the same committed tokens fed as one chain.
      const cpuRow = async (tokens: readonly number[]) => {
        const fresh = cpu.createSequence();
        const { logits } = await fresh.forward({ tokens: Int32Array.from([...tokens, 410]) });
        fresh.dispose();
        return logits.slice(tokens.length * 512);
      };
      const prompt = [1, 403, 407, 261, 378];
      const committed = [...prompt, ...Array.from({ length: 13 }, (_, s) => 300 + (s % 5))];
      expect(maxAbsDiff(afterCommits, await cpuRow(committed))).toBeLessThan(FP16_TOLERANCE);
      expect([...sequence.tokens]).toEqual(committed.slice(0, 10));
      expect(maxAbsDiff(afterTruncate, await cpuRow(committed.slice(0, 10)))).toBeLessThan(
        FP16_TOLERANCE,
      );
      sequence.dispose();
      await new Promise(resolve => setTimeout(resolve, 0));
      expect(gpu.deviceStats.liveBlocks).toBe(0);
    });
  },
);

/**
 * A third-party float16 export (onnxruntime-genai's builder) whose graph runs several rows on an empty cache but
 * not on a cache: the device engine serves those forwards one row at a time, as the CPU backend does, so chains
 * verified on it keep the logits of token-by-token decoding. Run on the CPU provider (float16 needs no shaders
 * there); on SwiftShader's WebGPU the load is refused like the converter's fp16 variant above.
 */
describe('onnx-webgpu on an onnxruntime-genai float16 export (CPU provider)', () => {
  const folder = join(
    MODELS_ROOT,
    '..',
    'fixtures',
    'hf-exports',
    'onnxruntime-genai-tiny-random-llama-fp16',
  );
  let device: WebGpuModel;
  let cpu: LoadedModel;
  beforeAll(async () => {
    const backend = createWebGpuBackend({ sessionOptions: { executionProviders: ['cpu'] } });
    device = (await backend.load(folder)) as WebGpuModel;
    cpu = await createCpuBackend().load(folder);
  }, 120_000);
  afterAll(async () => {
    await device?.dispose();
    await cpu?.dispose();
  });

  it('serves several rows on a cache one row at a time, with the CPU backend logits', async () => {
    expect(describeGraph(cpu)?.multiRow).toMatchObject({ prefill: true, onCache: false });
    const rows = async (model: CausalLM) => {
      const sequence = model.createSequence();
      await sequence.forward({ tokens: Int32Array.of(0, 450) });
      sequence.commit([0, 1]);
      const { logits } = await sequence.forward({ tokens: Int32Array.of(4996, 17, 29871) });
      sequence.commit([0, 1]);
      const { logits: next } = await sequence.forward({ tokens: Int32Array.of(13) });
      sequence.dispose();
      return [logits.slice(), next.slice()];
    };
    const before = device.deviceStats.forwards;
    const [onDevice, onCpu] = [await rows(device), await rows(cpu)];
    // The prompt in one forward, the 3 rows on a cache in 3, then one row.
    expect(device.deviceStats.forwards - before).toBe(5);
    expect(device.deviceStats.kvType).toBe('float16');
    expect(maxAbsDiff(onDevice[0], onCpu[0])).toBeLessThan(1e-3);
    expect(maxAbsDiff(onDevice[1], onCpu[1])).toBeLessThan(1e-3);
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(device.deviceStats.liveBlocks).toBe(0);
  });

  it('decodes the CPU backend greedy ids', async () => {
    const generate = async (model: CausalLM) =>
      (
        await createDecoder({ model }).generate(
          { tokens: [0, 450, 4996] },
          { maxTokens: 12, temperature: 0 },
        )
      ).tokens;
    const ids = await generate(device);
    expect(ids).toHaveLength(12);
    expect(ids).toEqual(await generate(cpu));
  });
});
