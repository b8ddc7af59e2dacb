import { afterAll, assert, beforeAll, describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import { buildLlamaGraph } from './graph-builder.js';
import { readLlama2cCheckpoint } from './llama2c.js';
import { decodeModel } from './onnx-writer.js';
import {
  GraphRunner,
  causalBias,
  golden,
  maxAbsDiff,
  modelBytes,
  type GreedyGolden,
} from './ort-test-utils.js';

const PROMPT = [1, 403, 407, 261, 378];
const storiesShape = { numLayers: 5, numKvHeads: 4, headDim: 8, vocabSize: 512 };

function loadStories() {
  return readLlama2cCheckpoint(modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin'));
}

describe.each([
  ['plain', true],
  ['extended', false],
] as const)('stories260K, %s graph', (_label, plain) => {
  let runner: GraphRunner;
  beforeAll(async () => {
    const { config, weights } = loadStories();
    runner = await GraphRunner.create(buildLlamaGraph(config, weights, { plain }), storiesShape);
  });
  afterAll(() => runner.release());

  test('I/O names follow docs/graph-io.md', () => {
    const inputs = runner.session.inputNames;
    const outputs = runner.session.outputNames;
    expect(inputs.slice(0, 3)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    expect(inputs).toContain('past_key_values.4.value');
    expect(outputs).toContain('logits');
    expect(outputs).toContain('present.4.key');
    expect(inputs.includes('attention_bias')).toBe(!plain);
    expect(inputs.includes('skip_layers')).toBe(!plain);
    expect(outputs.includes('hidden_states')).toBe(!plain);
    expect(inputs).toHaveLength(3 + 10 + (plain ? 0 : 2));
  });

  test('teacher-forced logits match llama2.c within 1e-4', async () => {
    const expected = golden<{ logits: number[][] }>(
      'golden_stories260K_logits_once_upon_a_time.json',
    ).logits.flat();
    const { logits } = await runner.step(runner.emptyPast(), { ids: PROMPT });
    const diff = maxAbsDiff(logits, expected);
    console.info(`stories260K ${_label} max |logits - golden| = ${diff.toExponential(3)}`);
    expect(diff).toBeLessThan(1e-4);
  });

  test('incremental forwards equal the one-shot forward', async () => {
    const once = await runner.step(runner.emptyPast(), { ids: PROMPT });
    const first = await runner.step(runner.emptyPast(), { ids: PROMPT.slice(0, 3) });
    const rest = await runner.step(first.present, { ids: PROMPT.slice(3) });
    expect(maxAbsDiff(rest.logits, once.logits.subarray(3 * 512))).toBeLessThan(1e-5);
    expect(rest.present[0].dims).toEqual([1, 4, 5, 8]);
  });

  test('greedy decoding reproduces llama2.c (100 tokens from the prompt, 200 from BOS)', async () => {
    const expected = golden<GreedyGolden>('golden_stories260K_greedy.json');
    expect(await runner.greedy(PROMPT, 100)).toEqual(expected['Once upon a time'].generated_ids);
    expect(await runner.greedy([1], 200)).toEqual(expected['<BOS only>'].generated_ids);
  });
});

describe('llama2xs (separate model, context 256)', () => {
  test.each([true, false])('greedy decoding reproduces llama2.c (plain: %s)', async plain => {
    const { config, weights } = readLlama2cCheckpoint(modelBytes('llama2xs/model.bin'));
    const runner = await GraphRunner.create(
      buildLlamaGraph(config, weights, { plain }),
      storiesShape,
    );
    const expected = golden<GreedyGolden>('golden_llama2xs_saltyduckegg_greedy.json');
    expect(await runner.greedy(PROMPT, 100)).toEqual(expected['Once upon a time'].generated_ids);
    expect(await runner.greedy([1], 200)).toEqual(expected['<BOS only>'].generated_ids);
    await runner.release();
  });
});

describe('decodekit extensions', () => {
  let runner: GraphRunner;
  beforeAll(async () => {
    const { config, weights } = loadStories();
    runner = await GraphRunner.create(buildLlamaGraph(config, weights), storiesShape);
  });
  afterAll(() => runner.release());

  test('a tree forward equals the forwards of each root-to-leaf chain', async () => {
    const prefix = await runner.step(runner.emptyPast(), { ids: PROMPT });
    const past = 5;
    // Tree rows: 0:a(-1) 1:b(0) 2:c(0) 3:d(2) 4:e(-1)
    const tokens = [432, 383, 286, 261, 376];
    const parents = [-1, 0, 0, 2, -1];
    const depth = parents.map(function d(p: number): number {
      return p < 0 ? 0 : 1 + d(parents[p]);
    });
    const n = tokens.length;
    const bias = new Float32Array(n * (past + n)).fill(-1e9);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < past; c++) bias[r * (past + n) + c] = 0;
      for (let a = r; a >= 0; a = parents[a]) bias[r * (past + n) + past + a] = 0;
    }
    const tree = await runner.step(prefix.present, {
      ids: tokens,
      positions: depth.map(d => past + d),
      bias,
    });
    for (const path of [[0, 1], [0, 2, 3], [4]]) {
      const chain = await runner.step(prefix.present, { ids: path.map(r => tokens[r]) });
      path.forEach((row, i) => {
        expect(
          maxAbsDiff(
            tree.logits.subarray(row * 512, (row + 1) * 512),
            chain.logits.subarray(i * 512, (i + 1) * 512),
          ),
        ).toBeLessThan(1e-5);
      });
    }
  });

  test('hidden_states is [1, n, hiddenSize] and feeds the tied classifier', async () => {
    const { weights } = loadStories();
    const out = await runner.step(runner.emptyPast(), { ids: PROMPT });
    expect(out.hidden?.dims).toEqual([1, 5, 64]);
    assert(out.hidden, 'the runner returns hidden states');
    const hidden = out.hidden.data as Float32Array;
    let logit = 0;
    for (let i = 0; i < 64; i++) logit += hidden[4 * 64 + i] * weights.tokenEmbedding[432 * 64 + i];
    expect(Math.abs(logit - out.logits[4 * 512 + 432])).toBeLessThan(1e-4);
  });

  test('skip_layers bypasses a layer, keeps cache shapes, and still runs', async () => {
    const base = await runner.step(runner.emptyPast(), { ids: PROMPT });
    const skipped = await runner.step(runner.emptyPast(), {
      ids: PROMPT,
      skip: [false, false, true, false, false],
    });
    expect(maxAbsDiff(base.logits, skipped.logits)).toBeGreaterThan(1e-2);
    expect(skipped.present.map(t => t.dims)).toEqual(base.present.map(t => t.dims));
    // Layers before the skipped one see the same input, so their cache is unchanged.
    expect(
      maxAbsDiff(skipped.present[2].data as Float32Array, base.present[2].data as Float32Array),
    ).toBe(0);
    // Decoding continues from a cache produced with a skipped layer.
    const next = await runner.step(skipped.present, {
      ids: [432],
      skip: [false, false, true, false, false],
    });
    expect(next.logits.every(Number.isFinite)).toBe(true);
    // All layers skipped: the hidden state is the normalized embedding.
    const all = await runner.step(runner.emptyPast(), {
      ids: PROMPT,
      skip: [true, true, true, true, true],
    });
    expect(all.logits.every(Number.isFinite)).toBe(true);
  });

  test('a causal attention_bias equals the plain graph (built-in mask) with a cache', async () => {
    const { config, weights } = loadStories();
    const plain = await GraphRunner.create(
      buildLlamaGraph(config, weights, { plain: true }),
      storiesShape,
    );
    const a = await plain.step(plain.emptyPast(), { ids: PROMPT.slice(0, 2) });
    const b = await plain.step(a.present, { ids: PROMPT.slice(2) });
    const c = await runner.step(runner.emptyPast(), { ids: PROMPT.slice(0, 2) });
    const d = await runner.step(c.present, { ids: PROMPT.slice(2), bias: causalBias(2, 3) });
    expect(maxAbsDiff(b.logits, d.logits)).toBeLessThan(1e-6);
    await plain.release();
  });
});

describe('graph structure', () => {
  test('IR 8, opset 17, fp32 raw_data initializers, few ops per layer', () => {
    const { config, weights } = loadStories();
    const model = decodeModel(
      buildLlamaGraph(config, weights, { plain: true, name: 'stories260K' }),
    );
    expect(Number(model.irVersion)).toBe(8);
    expect(Number(model.opsetImport[0].version)).toBe(17);
    const { graph } = model;
    assert(graph?.initializer && graph.node, 'the model has a graph with initializers and nodes');
    const floats = graph.initializer.filter(t => t.dataType === 1);
    expect(floats.every(t => (t.rawData?.length ?? 0) > 0)).toBe(true);
    expect(graph.node.filter(n => n.opType === 'MatMul')).toHaveLength(5 * 6 + 1);
    expect(graph.node.length / 5).toBeLessThan(50);
    expect(graph.node.some(n => n.opType === 'Cast' && n.input?.[0] !== 'attention_mask')).toBe(
      false,
    );
    expect(model.metadataProps?.find(p => p.key === 'decodekit.name')?.value).toBe('stories260K');
  });

  test('rejects weights that do not fit the config', () => {
    const { config, weights } = loadStories();
    expect(() => buildLlamaGraph({ ...config, dim: 60 }, weights)).toThrow(InvalidArgumentError);
    expect(() => buildLlamaGraph({ ...config, hiddenDim: 100 }, weights)).toThrow(/weights\.w1/);
  });
});
