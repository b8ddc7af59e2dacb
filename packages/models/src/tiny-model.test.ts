import { describe, expect, test } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError } from '@decodekit/core';
import { GraphRunner, maxAbsDiff, modelBytes } from './ort-test-utils.js';
import { buildRandomLlama, buildTinyModel, charVocabulary } from './tiny-model.js';

const json = (text: Uint8Array | string) => JSON.parse(text as string);

describe('buildTinyModel', () => {
  test('is deterministic in the seed', () => {
    const a = buildTinyModel({ seed: 7 }).files;
    const b = buildTinyModel({ seed: 7 }).files;
    const c = buildTinyModel({ seed: 8 }).files;
    expect(
      Buffer.from(a['onnx/model.onnx'] as Uint8Array).equals(
        Buffer.from(b['onnx/model.onnx'] as Uint8Array),
      ),
    ).toBe(true);
    expect(
      Buffer.from(a['onnx/model.onnx'] as Uint8Array).equals(
        Buffer.from(c['onnx/model.onnx'] as Uint8Array),
      ),
    ).toBe(false);
    expect(a['tokenizer.json']).toBe(b['tokenizer.json']);
  });

  test('has a consistent config, tokenizer and graph', async () => {
    const { files } = buildTinyModel({ seed: 1 });
    const config = json(files['config.json']);
    expect(config).toMatchObject({
      vocab_size: 32,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      intermediate_size: 32,
      max_position_embeddings: 64,
      eos_token_id: [2],
    });
    const tokenizer = new Tokenizer(
      json(files['tokenizer.json']),
      json(files['tokenizer_config.json']),
    );
    const ids = tokenizer.encode('the cat.').ids;
    expect(ids[0]).toBe(1);
    expect(Math.max(...ids)).toBeLessThan(32);
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe('the cat.');

    const runner = await GraphRunner.create(files['onnx/model.onnx'] as Uint8Array, {
      numLayers: 2,
      numKvHeads: 1,
      headDim: 8,
      vocabSize: 32,
    });
    expect(runner.extended).toBe(true);
    const once = await runner.step(runner.emptyPast(), { ids });
    const first = await runner.step(runner.emptyPast(), { ids: ids.slice(0, 4) });
    const rest = await runner.step(first.present, { ids: ids.slice(4) });
    expect(maxAbsDiff(rest.logits, once.logits.subarray(4 * 32))).toBeLessThan(1e-5);
    // Random weights still give distinct, finite logits.
    expect(once.logits.every(Number.isFinite)).toBe(true);
    expect(new Set(once.logits.subarray(0, 32)).size).toBeGreaterThan(16);
    await runner.release();
  });

  test('plain option drops the extensions', async () => {
    const { files } = buildTinyModel({ seed: 1, plain: true, layers: 3, kvHeads: 2 });
    const runner = await GraphRunner.create(files['onnx/model.onnx'] as Uint8Array, {
      numLayers: 3,
      numKvHeads: 2,
      headDim: 8,
      vocabSize: 32,
    });
    expect(runner.extended).toBe(false);
    expect(runner.session.outputNames).not.toContain('hidden_states');
    expect(await runner.greedy([1, 5], 10)).toHaveLength(10);
    await runner.release();
  });
});

describe('charVocabulary', () => {
  test('grows from characters to byte tokens to pairs', () => {
    const small = charVocabulary(32).tokens.map(t => new TextDecoder().decode(t.bytes));
    expect(small.slice(0, 5)).toEqual(['<unk>', '<s>', '</s>', ' ', 'e']);
    const large = charVocabulary(600).tokens.map(t => new TextDecoder().decode(t.bytes));
    expect(large).toHaveLength(600);
    expect(new Set(large).size).toBe(600);
    expect(large).toContain('<0xFF>');
    expect(large[599].length).toBe(2);
    expect(() => charVocabulary(2)).toThrow(InvalidArgumentError);
  });
});

describe('buildRandomLlama', () => {
  test('can use a real llama2.c tokenizer', () => {
    const { files } = buildRandomLlama({
      seed: 3,
      dim: 32,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 2,
      tokenizer: modelBytes('karpathy/tinyllamas/stories260K/tok512.bin'),
    });
    expect(json(files['config.json']).vocab_size).toBe(512);
    const tokenizer = new Tokenizer(
      json(files['tokenizer.json']),
      json(files['tokenizer_config.json']),
    );
    expect(tokenizer.encode('Once upon a time').ids).toEqual([1, 403, 407, 261, 378]);
    expect(() =>
      buildRandomLlama({
        seed: 3,
        vocabSize: 100,
        tokenizer: modelBytes('karpathy/tinyllamas/stories260K/tok512.bin'),
      }),
    ).toThrow(InvalidArgumentError);
  });

  test('builds a ~25M-parameter benchmark model that runs', async () => {
    const started = performance.now();
    const { files } = buildRandomLlama({ seed: 11 });
    const config = json(files['config.json']);
    expect(config).toMatchObject({
      hidden_size: 512,
      num_hidden_layers: 8,
      intermediate_size: 1376,
      vocab_size: 512,
    });
    const onnx = files['onnx/model.onnx'] as Uint8Array;
    expect(onnx.byteLength).toBeGreaterThan(25e6 * 4);
    const runner = await GraphRunner.create(onnx, {
      numLayers: 8,
      numKvHeads: 8,
      headDim: 64,
      vocabSize: 512,
    });
    const { logits } = await runner.step(runner.emptyPast(), { ids: [1, 5, 6, 7] });
    expect(logits.every(Number.isFinite)).toBe(true);
    await runner.release();
    console.info(
      `25M random model: built and ran in ${(performance.now() - started).toFixed(0)} ms`,
    );
  });
});
