import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError, ModelFormatError, ModelNotFoundError } from '@decodekit/core';
import { convertLlama2c } from './convert-llama2c.js';
import { convertLlama2cToFolder } from './convert-llama2c-node.js';
import {
  GraphRunner,
  MODELS_ROOT,
  golden,
  maxAbsDiff,
  modelBytes,
  type GreedyGolden,
} from './ort-test-utils.js';

const STORIES = join(MODELS_ROOT, 'karpathy/tinyllamas/stories260K');
const PROMPT = [1, 403, 407, 261, 378];
const temp = mkdtempSync(join(tmpdir(), 'decodekit-convert-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('convertLlama2c', () => {
  test('produces the five files of a model folder', () => {
    const { files } = convertLlama2c({
      checkpoint: modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin'),
      tokenizer: modelBytes('karpathy/tinyllamas/stories260K/tok512.bin'),
      name: 'karpathy/tinyllamas/stories260K',
    });
    expect(Object.keys(files).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/model.onnx',
      'onnx/model_embeds.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(files['onnx/model.onnx']).toBeInstanceOf(Uint8Array);
    expect(files['onnx/model_embeds.onnx']).toBeInstanceOf(Uint8Array);
    const config = JSON.parse(files['config.json'] as string);
    expect(config).toMatchObject({
      model_type: 'llama',
      vocab_size: 512,
      hidden_size: 64,
      intermediate_size: 172,
      num_hidden_layers: 5,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      head_dim: 8,
      max_position_embeddings: 512,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: true,
      bos_token_id: 1,
      eos_token_id: [1, 2],
      decodekit: { graph: 'extended', source: 'llama2.c', name: 'karpathy/tinyllamas/stories260K' },
    });
    expect(JSON.parse(files['generation_config.json'] as string)).toMatchObject({
      bos_token_id: 1,
      eos_token_id: [1, 2],
    });
  });

  test('a tokenizer of another size is a ModelFormatError', () => {
    const tokenizer = modelBytes('karpathy/tinyllamas/stories260K/tok512.bin');
    let end = 4;
    for (let i = 0; i < 300; i++) end += 8 + new DataView(tokenizer.buffer).getInt32(end + 4, true);
    expect(() =>
      convertLlama2c({
        checkpoint: modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin'),
        tokenizer: tokenizer.subarray(0, end),
      }),
    ).toThrow(/300 tokens but the checkpoint/);
  });
});

describe.each([
  ['plain', true],
  ['extended', false],
] as const)('convertLlama2cToFolder (%s)', (label, plain) => {
  const out = join(temp, label);

  test('writes a folder that loads and reproduces llama2.c', async () => {
    const written = await convertLlama2cToFolder(
      join(STORIES, 'stories260K.bin'),
      join(STORIES, 'tok512.bin'),
      out,
      { plain },
    );
    expect(written).toBe(out);
    expect(readdirSync(temp).filter(name => name.startsWith('.'))).toEqual([]); // no temp folders left
    const tokenizer = new Tokenizer(
      readJson(join(out, 'tokenizer.json')),
      readJson(join(out, 'tokenizer_config.json')),
    );
    expect(tokenizer.encode('Once upon a time').ids).toEqual(PROMPT);

    const runner = await GraphRunner.create(
      new Uint8Array(readFileSync(join(out, 'onnx/model.onnx'))),
      {
        numLayers: 5,
        numKvHeads: 4,
        headDim: 8,
        vocabSize: 512,
      },
    );
    expect(runner.extended).toBe(!plain);
    const { logits } = await runner.step(runner.emptyPast(), { ids: PROMPT });
    const expected = golden<{ logits: number[][] }>(
      'golden_stories260K_logits_once_upon_a_time.json',
    ).logits.flat();
    expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-4);
    const greedy = await runner.greedy(PROMPT, 100);
    expect(greedy).toEqual(
      golden<GreedyGolden>('golden_stories260K_greedy.json')['Once upon a time'].generated_ids,
    );
    expect(tokenizer.decode([...PROMPT, ...greedy], { skip_special_tokens: true })).toBe(
      golden<GreedyGolden>('golden_stories260K_greedy.json')['Once upon a time'].printed_text,
    );
    await runner.release();
  });

  test('refuses to replace an existing folder unless asked', async () => {
    await expect(
      convertLlama2cToFolder(join(STORIES, 'stories260K.bin'), join(STORIES, 'tok512.bin'), out),
    ).rejects.toThrow(InvalidArgumentError);
    await convertLlama2cToFolder(
      join(STORIES, 'stories260K.bin'),
      join(STORIES, 'tok512.bin'),
      out,
      { plain, overwrite: true },
    );
    expect(existsSync(join(out, 'onnx/model.onnx'))).toBe(true);
  });
});

describe('convertLlama2cToFolder errors', () => {
  test('a missing input is a ModelNotFoundError naming the path', async () => {
    const missing = join(temp, 'nope.bin');
    const error = await convertLlama2cToFolder(
      missing,
      join(STORIES, 'tok512.bin'),
      join(temp, 'x'),
    ).catch(e => e);
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain(missing);
  });

  test('a corrupt checkpoint leaves nothing behind', async () => {
    const target = join(temp, 'corrupt');
    const error = await convertLlama2cToFolder(
      join(STORIES, 'tok512.bin'),
      join(STORIES, 'tok512.bin'),
      target,
    ).catch(e => e);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(existsSync(target)).toBe(false);
  });
});
