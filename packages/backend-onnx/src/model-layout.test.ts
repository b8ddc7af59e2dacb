import { ModelFormatError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { writeFolder } from './__fixtures__/model-folders';
import { configFromGenai } from './model-layout';
import { findGraphLayout, readModelFolder } from './model-folder';
import { readModelConfig } from './model-config';

const genai = {
  model: {
    bos_token_id: 0,
    context_length: 2048,
    eos_token_id: [1, 7],
    pad_token_id: 2,
    type: 'llama',
    vocab_size: 32000,
    decoder: {
      filename: 'model.onnx',
      head_size: 16,
      hidden_size: 32,
      num_attention_heads: 2,
      num_hidden_layers: 2,
      num_key_value_heads: 1,
      inputs: { input_ids: 'input_ids', past_key_names: 'past_key_values.%d.key' },
      outputs: { logits: 'logits', present_key_names: 'present.%d.key' },
    },
  },
};

describe('configFromGenai', () => {
  it('maps genai_config.json onto the config.json keys decodekit reads', () => {
    const { config, graphFile } = configFromGenai(genai);
    expect(graphFile).toBe('model.onnx');
    expect(readModelConfig(config, undefined, 'genai', 'genai_config.json')).toEqual({
      info: {
        name: 'genai',
        vocabSize: 32000,
        contextLength: 2048,
        bosTokenId: 0,
        eosTokenIds: [1, 7],
        numLayers: 2,
        hiddenSize: 32,
      },
      shape: { kvHeads: 1, headDim: 16 },
    });
  });

  it.each([
    {
      edit: { inputs: { past_key_names: 'past_key_%d' } },
      message:
        /"model.decoder.inputs.past_key_names" is "past_key_%d"; decodekit feeds graphs by the standard name "past_key_values.%d.key"/,
    },
    { edit: { inputs: { seqlens_k: 'seqlens_k' } }, message: /"model.decoder.inputs.seqlens_k"/ },
    { edit: { filename: '../model.onnx' }, message: /must name the graph file inside the folder/ },
  ])('refuses $edit', ({ edit, message }) => {
    const config = { model: { ...genai.model, decoder: { ...genai.model.decoder, ...edit } } };
    let caught: unknown;
    try {
      configFromGenai(config);
    } catch (error) {
      caught = error;
    }
    expect(ModelFormatError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });

  it('says a config without a decoder section is not a genai decoder config', () => {
    expect(() => configFromGenai({ model: {} })).toThrow(/no "model.decoder" section/);
  });
});

describe('findGraphLayout', () => {
  const json = '{}';
  it.each([
    {
      files: { 'config.json': json, 'onnx/model.onnx': '' },
      layout: { kind: 'hf', graph: 'onnx/model.onnx' },
    },
    {
      files: { 'config.json': json, 'model.onnx': '' },
      layout: { kind: 'hf', graph: 'model.onnx' },
    },
    {
      files: {
        'config.json': json,
        'onnx/decoder_model_merged.onnx': '',
        'onnx/decoder_model.onnx': '',
        'onnx/decoder_with_past_model.onnx': '',
      },
      layout: { kind: 'hf', graph: 'onnx/decoder_model_merged.onnx' },
    },
    {
      files: { 'config.json': json, 'decoder_model.onnx': '', 'decoder_with_past_model.onnx': '' },
      layout: { kind: 'hf', graph: 'decoder_with_past_model.onnx', first: 'decoder_model.onnx' },
    },
    {
      files: { 'genai_config.json': JSON.stringify(genai), 'model.onnx': '' },
      layout: { kind: 'genai', graph: 'model.onnx' },
    },
    { files: { 'config.json': json, 'onnx/decoder_model.onnx': '' }, layout: undefined },
    { files: { 'stories.bin': '' }, layout: undefined },
  ] as Array<{ files: Record<string, string>; layout: unknown }>)(
    '$files → $layout',
    async ({ files, layout }) => {
      const folder = writeFolder(
        `layout-${Object.keys(files).join('-').replace(/\W+/g, '_')}`,
        files,
      );
      expect(await findGraphLayout(folder)).toEqual(layout);
    },
  );

  it('names the graphs a folder holds when none is one decodekit reads', async () => {
    const folder = writeFolder('layout-dtype-only', {
      'config.json': JSON.stringify({ vocab_size: 4 }),
      'tokenizer.json': JSON.stringify({ model: { vocab: { a: 0 } } }),
      'onnx/model_q4.onnx': '',
    });
    const error = await readModelFolder(folder).catch((caught: unknown) => caught);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('(it has onnx/model_q4.onnx)');
    expect((error as Error).message).toContain('genai_config.json');
  });
});
