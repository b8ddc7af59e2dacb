/**
 * The WebGPU backend in Node, for real: onnxruntime-node's WebGPU provider (Dawn) on SwiftShader's Vulkan (CPU)
 * unless the environment names another ICD. SwiftShader is slow (~10-20 tokens/s for stories260K on 2 cores),
 * so the strategy checks use a subset of the bench prompts (see PROMPTS: story-00 and the first grounded prompt)
 * and 32 tokens each; the full prompt sets run on the CPU in each strategy package.
 */
import {
  createDecoder,
  speculative,
  UnsupportedCapabilityError,
  type CausalLM,
  type LoadedModel,
  type Strategy,
} from '@decodekit/core';
import { createCpuBackend, loadModel } from '@decodekit/backend-onnx';
import { readPromptFile, runBackendConformance } from '@decodekit/conformance';
import { draftModel } from '@decodekit/strategy-draft-model';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLlama2c, type ConvertLlama2cInput } from '@decodekit/models';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MODELS_ROOT,
  stories260KFolder,
  stories260KGolden,
  useSwiftShaderUnlessSet,
  writeFolder,
} from './__fixtures__/models';
import { createWebGpuBackend, type WebGpuModel } from './index';

useSwiftShaderUnlessSet();

/**
 * Largest absolute logit difference allowed between WebGPU and the CPU backend, and between two ways of
 * computing the same row on WebGPU. Measured on SwiftShader: ≤ 2e-5 against CPU over 100 positions of
 * stories260K (logits of magnitude ~10); 1e-4 leaves room for other drivers' summation orders.
 */
const TOLERANCE = 1e-4;

const backend = createWebGpuBackend();

runBackendConformance('onnx-webgpu (stories260K, WebGPU in Node)', {
  makeModel: () => backend.load(stories260KFolder()),
  makePlainModel: () => backend.load(stories260KFolder({ plain: true })),
  tolerance: TOLERANCE,
});

const argmax = (row: Float32Array): number => {
  let best = 0;
  for (let token = 1; token < row.length; token++) if (row[token] > row[best]) best = token;
  return best;
};

/** Greedy decoding with forward + commit, one token per step; returns the ids and every step's logits row. */
async function greedy(model: CausalLM, prompt: readonly number[], steps: number) {
  const sequence = model.createSequence();
  const vocab = model.info.vocabSize;
  try {
    let { logits } = await sequence.forward({ tokens: Int32Array.from(prompt) });
    sequence.commit(prompt.map((_, index) => index));
    const ids: number[] = [];
    for (let step = 0; step < steps; step++) {
      const token = argmax(logits.subarray(logits.length - vocab));
      ids.push(token);
      ({ logits } = await sequence.forward({ tokens: Int32Array.of(token) }));
      sequence.commit([0]);
    }
    return ids;
  } finally {
    sequence.dispose();
  }
}

/** Logits of every position of `tokens` in one forward (teacher forcing). */
async function teacherForced(model: CausalLM, tokens: readonly number[]): Promise<Float32Array> {
  const sequence = model.createSequence();
  try {
    return (await sequence.forward({ tokens: Int32Array.from(tokens) })).logits.slice();
  } finally {
    sequence.dispose();
  }
}

/**
 * Compares two greedy id lists: equal, or the first difference is a tie on the CPU's logits (the two tokens'
 * CPU logits differ by less than TOLERANCE) — never silently accepted. Returns a description of the tie.
 */
async function expectSameOrTie(
  cpu: CausalLM,
  prompt: readonly number[],
  gpuIds: number[],
  cpuIds: number[],
) {
  const at = gpuIds.findIndex((id, index) => id !== cpuIds[index]);
  if (at < 0) return 'identical';
  const vocab = cpu.info.vocabSize;
  const logits = await teacherForced(cpu, [...prompt, ...cpuIds.slice(0, at)]);
  const row = logits.subarray(logits.length - vocab);
  const margin = Math.abs(row[cpuIds[at]] - row[gpuIds[at]]);
  expect(
    margin,
    `greedy ids differ at step ${at} (CPU ${cpuIds[at]}, WebGPU ${gpuIds[at]}) and it is not a tie`,
  ).toBeLessThan(TOLERANCE);
  return `tie at step ${at}: CPU logit margin ${margin.toExponential(2)} < ${TOLERANCE}`;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index++) max = Math.max(max, Math.abs(a[index] - b[index]));
  return max;
};

describe('onnx-webgpu against the CPU backend (stories260K)', () => {
  let gpu: WebGpuModel;
  let cpu: LoadedModel;
  beforeAll(async () => {
    gpu = (await backend.load(stories260KFolder())) as WebGpuModel;
    cpu = await createCpuBackend().load(stories260KFolder());
  });
  afterAll(async () => {
    await gpu?.dispose();
    await cpu?.dispose();
  });

  it('reports its backend and keeps the KV cache on the GPU', async () => {
    expect(gpu.capabilities).toEqual({
      tree: true,
      hiddenStates: true,
      layerSkip: true,
      backendId: 'onnx-webgpu',
    });
    expect(gpu.info).toMatchObject({ vocabSize: 512, numLayers: 5, name: 'stories260K' });
    const sequence = gpu.createSequence();
    await sequence.forward({ tokens: Int32Array.of(1, 403) });
    expect(gpu.deviceStats.kvLocation).toBe('gpu-buffer');
    sequence.dispose();
  });

  it('teacher-forced logits match the CPU within the tolerance, argmax equal or tied', async () => {
    const { promptIds, generatedIds } = stories260KGolden();
    const tokens = [...promptIds, ...generatedIds.slice(0, 95)];
    const [a, b] = [await teacherForced(gpu, tokens), await teacherForced(cpu, tokens)];
    const diff = maxAbsDiff(a, b);
    expect(diff).toBeLessThan(TOLERANCE);
    const vocab = 512;
    let ties = 0;
    for (let row = 0; row < tokens.length; row++) {
      const gpuRow = a.subarray(row * vocab, (row + 1) * vocab);
      const cpuRow = b.subarray(row * vocab, (row + 1) * vocab);
      const [g, c] = [argmax(gpuRow), argmax(cpuRow)];
      if (g !== c) {
        ties++;
        expect(Math.abs(cpuRow[g] - cpuRow[c]), `row ${row}`).toBeLessThan(TOLERANCE);
      }
    }
    console.info(
      `WebGPU vs CPU: max |Δlogit| = ${diff.toExponential(2)} over ${tokens.length} rows; ${ties} argmax ties`,
    );
  });

  it('decodes "Once upon a time" greedily like llama2.c (the golden, 100 tokens) and reads back only logits rows', async () => {
    const { promptIds, generatedIds } = stories260KGolden();
    const before = { ...gpu.deviceStats };
    const ids = await greedy(gpu, promptIds, 100);
    const tie = await expectSameOrTie(cpu, promptIds, ids, generatedIds.slice(0, 100));
    expect(tie).toBe('identical');
    const forwards = gpu.deviceStats.forwards - before.forwards;
    const bytes = gpu.deviceStats.readbackBytes - before.readbackBytes;
    // Per forward: rows × (vocab logits + hidden_states) float32; the 5-token prompt, then 1 row per step.
    const perRow = (512 + 64) * 4;
    expect(forwards).toBe(101);
    expect(bytes).toBe((promptIds.length + 100) * perRow);
    expect(gpu.deviceStats.gathers - before.gathers).toBe(0);
  });

  it('verifies a draft tree in one forward: each row equals the CPU row within the tolerance', async () => {
    const prefix = [1, 403, 407, 261, 378];
    const tree = Int32Array.of(432, 383, 300, 286, 261, 299);
    const parents = Int32Array.of(-1, 0, 0, 1, 3, 2);
    const rows = async (model: CausalLM) => {
      const sequence = model.createSequence();
      await sequence.forward({ tokens: Int32Array.from(prefix) });
      sequence.commit([0, 1, 2, 3, 4]);
      const { logits } = await sequence.forward({ tokens: tree, parents });
      sequence.dispose();
      return logits.slice();
    };
    const before = gpu.deviceStats.forwards;
    const gpuRows = await rows(gpu);
    expect(gpu.deviceStats.forwards - before).toBe(2);
    expect(maxAbsDiff(gpuRows, await rows(cpu))).toBeLessThan(TOLERANCE);
  });

  it('releases device buffers: forks share blocks, truncate and compaction gather on the GPU, dispose frees all', async () => {
    const base = { ...gpu.deviceStats };
    const sequence = gpu.createSequence();
    await sequence.forward({ tokens: Int32Array.of(1, 403, 407, 261, 378) });
    sequence.commit([0, 1, 2, 3, 4]);
    const fork = sequence.fork();
    // 13 tree forwards of 5 rows keeping 1 row each: 52 dead slots > 48 → one compaction (a device gather).
    for (let step = 0; step < 13; step++) {
      await sequence.forward({
        tokens: Int32Array.of(300, 301, 302, 303, 304),
        parents: Int32Array.of(-1, -1, -1, -1, -1),
      });
      sequence.commit([step % 5]);
    }
    sequence.truncate(10);
    const { logits: afterTruncate } = await sequence.forward({ tokens: Int32Array.of(410) });
    expect(gpu.deviceStats.gathers - base.gathers).toBe(2);
    // The truncated sequence matches a fresh one fed the same 10 tokens, then 410.
    const kept = [...sequence.tokens];
    const fresh = gpu.createSequence();
    await fresh.forward({ tokens: Int32Array.from(kept) });
    fresh.commit(kept.map((_, index) => index));
    const { logits: expected } = await fresh.forward({ tokens: Int32Array.of(410) });
    expect(maxAbsDiff(afterTruncate, expected)).toBeLessThan(TOLERANCE);
    // The fork still reads the prompt's cache (shared, not freed by the original's commits).
    const { logits: forkLogits } = await fork.forward({ tokens: Int32Array.of(432) });
    expect(argmax(forkLogits)).toBe(stories260KGolden().generatedIds[1]);
    for (const held of [sequence, fork, fresh]) held.dispose();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(gpu.deviceStats.liveBlocks).toBe(0);
    expect(gpu.deviceStats.disposedTensors).toBeGreaterThan(base.disposedTensors);
  });
});

/**
 * O-greedy of the lossless strategies on the WebGPU model: token-identical to autoregressive greedy on the same
 * WebGPU model, and to the CPU's greedy (or a tie, shown). A subset of the bench prompts: SwiftShader is slow.
 */
const PROMPTS = [readPromptFile('stories')[0], readPromptFile('grounded')[0]];
const MAX_TOKENS = 32;

// The split pair and graphs without position_ids need nothing of the device engine (the with-past graph runs
// every forward; positions come from the cache); these two need an input fed.
describe('third-party layouts on onnx-webgpu (stories260K converted to each, plain fp32)', () => {
  const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
  it.each<{ name: string; variant: Partial<ConvertLlama2cInput> }>([
    { name: 'merged (use_cache_branch)', variant: { layout: 'merged' } },
    { name: 'num_logits_to_keep', variant: { logitsToKeep: true } },
  ])('$name: greedy gives the golden ids', async ({ name, variant }) => {
    const { files } = convertLlama2c({
      checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
      tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
      plain: true,
      ...variant,
    });
    const model = await backend.load(writeFolder(`webgpu-${name.split(' ')[0]}`, files));
    try {
      const { promptIds, generatedIds } = stories260KGolden();
      expect(await greedy(model, promptIds, 12)).toEqual(generatedIds.slice(0, 12));
    } finally {
      await model.dispose();
    }
  });
});

describe('O-greedy of lossless strategies on onnx-webgpu (2 bench prompts × 32 tokens)', () => {
  let gpu: LoadedModel;
  let cpu: LoadedModel;
  let draft: LoadedModel;
  const reference = new Map<string, number[]>();
  const generate = async (model: CausalLM, ids: number[], strategy?: Strategy) => {
    let decoder = createDecoder({ model });
    if (strategy) decoder = decoder.use(strategy);
    return (await decoder.generate({ tokens: ids }, { maxTokens: MAX_TOKENS, temperature: 0 }))
      .tokens;
  };
  beforeAll(async () => {
    gpu = await backend.load(stories260KFolder());
    cpu = await createCpuBackend().load(stories260KFolder());
    draft = await loadModel('llama2xs'); // CPU: drafts are cheap there; the target verifies on WebGPU
    for (const entry of PROMPTS) {
      const ids = gpu.tokenizer.encode(entry.prompt);
      const gpuIds = await generate(gpu, ids);
      const tie = await expectSameOrTie(cpu, ids, gpuIds, await generate(cpu, ids));
      if (tie !== 'identical') console.info(`${entry.id}: ${tie}`);
      reference.set(entry.id, gpuIds);
    }
  }, 300_000);
  afterAll(async () => {
    await gpu?.dispose();
    await cpu?.dispose();
    await draft?.dispose();
  });

  const strategies: [string, () => Strategy][] = [
    ['prompt-lookup', () => speculative({ drafter: promptLookup() })],
    [
      'token-recycling (tree, budget 32)',
      () => speculative({ drafter: tokenRecycling(), budget: 32 }),
    ],
    ['draft-model (llama2xs on CPU)', () => speculative({ drafter: draftModel({ model: draft }) })],
  ];
  for (const [name, make] of strategies) {
    it(`${name}: identical to autoregressive greedy`, async () => {
      for (const entry of PROMPTS) {
        const ids = gpu.tokenizer.encode(entry.prompt);
        expect(await generate(gpu, ids, make()), entry.id).toEqual(reference.get(entry.id));
      }
    }, 120_000);
  }
});

describe('onnx-webgpu option checks', () => {
  it.each([
    [{ graphOptimizationLevel: 'max' }, /graphOptimizationLevel/],
    [{ providerOptions: { name: 'cuda' } }, /providerOptions/],
    [{ providerOptions: 'fast' }, /providerOptions/],
    [{ vulkanLibraries: 'libvulkan.so.1' }, /vulkanLibraries/],
  ])('rejects %j', (options, message) => {
    expect(() => createWebGpuBackend(options as never)).toThrow(message);
  });

  it('refuses a tree on the plain export with UnsupportedCapabilityError', async () => {
    const plain = await backend.load(stories260KFolder({ plain: true }));
    try {
      const sequence = plain.createSequence();
      await expect(
        sequence.forward({ tokens: Int32Array.of(1, 2), parents: Int32Array.of(-1, -1) }),
      ).rejects.toSatisfy(error => UnsupportedCapabilityError.isInstance(error));
    } finally {
      await plain.dispose();
    }
  });
});
