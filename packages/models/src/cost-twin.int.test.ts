import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, assert, beforeAll, describe, expect, test } from 'vitest';
import { convertLlama2c } from './convert-llama2c.js';
import { TWIN_DATA_FILE, convertLlama2cToTwin } from './convert-twin-node.js';
import { readCostTwinInfo } from './cost-twin.js';
import { GraphRunner, MODELS_ROOT, modelBytes } from './ort-test-utils.js';

const STORIES = join(MODELS_ROOT, 'karpathy/tinyllamas/stories260K');
/** A few bench prompts with short generations keep this under a few seconds. */
const PROMPTS = 4;
const STEPS = 24;
const temp = mkdtempSync(join(tmpdir(), 'decodekit-twin-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const shape = { numLayers: 5, numKvHeads: 4, headDim: 8, vocabSize: 512 };

describe('the 25M cost twin of stories260K', () => {
  let folder: string;
  let dataBytes: number;
  beforeAll(async () => {
    ({ folder, dataBytes } = await convertLlama2cToTwin(
      join(STORIES, 'stories260K.bin'),
      join(STORIES, 'tok512.bin'),
      join(temp, 'twin'),
      { size: '25M' },
    ));
  });

  test('has about 25M parameters and says so in config.json', () => {
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    const twin = readCostTwinInfo(config);
    expect(twin).toMatchObject({
      of: 'stories260K',
      target: '25M',
      label: 'stories260K function, 25M-parameter cost',
      original_intermediate_size: 172,
    });
    assert(twin, 'the config records the cost twin');
    expect(Math.abs(twin.parameters / 25e6 - 1)).toBeLessThan(0.02);
    // Every widened MLP weight is in the external data file; the graph itself stays small.
    expect(dataBytes).toBe(statSync(join(folder, 'onnx', TWIN_DATA_FILE)).size);
    expect(dataBytes).toBeGreaterThan(0.97 * 4 * 25e6);
    expect(statSync(join(folder, 'onnx/model.onnx')).size).toBeLessThan(2e6);
    expect(config.intermediate_size).toBe(
      (twin.parameters - twin.original_parameters) / (3 * 64 * 5) + 172,
    );
  });

  test('gives the original greedy ids on the bench prompts', async () => {
    const { files } = convertLlama2c({
      checkpoint: modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin'),
      tokenizer: modelBytes('karpathy/tinyllamas/stories260K/tok512.bin'),
    });
    const tokenizer = new Tokenizer(
      JSON.parse(files['tokenizer.json'] as string),
      JSON.parse(files['tokenizer_config.json'] as string),
    );
    const prompts = readFileSync(resolve(__dirname, '../../../bench/stories.jsonl'), 'utf8')
      .split('\n')
      .filter(line => line.trim())
      .slice(0, PROMPTS)
      .map(line => tokenizer.encode((JSON.parse(line) as { prompt: string }).prompt).ids);
    expect(prompts).toHaveLength(PROMPTS);
    const original = await GraphRunner.create(files['onnx/model.onnx'] as Uint8Array, shape);
    const twin = await GraphRunner.create(join(folder, 'onnx/model.onnx'), shape);
    try {
      for (const prompt of prompts) {
        const expected = await original.greedy(prompt, STEPS);
        expect(await twin.greedy(prompt, STEPS)).toEqual(expected);
      }
    } finally {
      await original.release();
      await twin.release();
    }
  });

  test('the inputs_embeds graph shares the external data file', async () => {
    const embeds = readFileSync(join(folder, 'onnx/model_embeds.onnx'));
    expect(embeds.byteLength).toBeLessThan(2e6);
    expect(embeds.includes(Buffer.from(TWIN_DATA_FILE))).toBe(true);
  });
});
