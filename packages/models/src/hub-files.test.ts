import { describe, expect, test } from 'vitest';
import { InvalidArgumentError, ModelNotFoundError } from '@decodekit/core';
import { availableHubDtypes, selectHubFiles } from './hub-files.js';
import { isHubId, parseHubId } from './hub-id.js';

const listing = (...paths: string[]) => paths.map(path => ({ path }));

const TRANSFORMERS_JS = listing(
  'README.md',
  '.gitattributes',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/model.onnx',
  'onnx/model.onnx_data',
  'onnx/model_fp16.onnx',
  'onnx/model_fp16.onnx_data',
  'onnx/model_quantized.onnx',
  'onnx/model_int8.onnx',
  'onnx/model_uint8.onnx',
  'onnx/model_q4.onnx',
  'onnx/model_q4.onnx_data',
  'onnx/model_q4.onnx_data_1',
  'onnx/model_q4f16.onnx',
  'onnx/model_q4f16.onnx.data',
  'onnx/model_bnb4.onnx',
);

function paths(dtype: string | undefined, siblings = TRANSFORMERS_JS) {
  const selection = selectHubFiles('org/name', siblings, { dtype });
  return { graph: selection.graph, files: selection.files.map(file => file.path).sort() };
}

const METADATA = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

describe('selectHubFiles', () => {
  test.each([
    { dtype: undefined, graph: 'onnx/model.onnx', data: ['onnx/model.onnx_data'] },
    { dtype: 'fp32', graph: 'onnx/model.onnx', data: ['onnx/model.onnx_data'] },
    { dtype: 'fp16', graph: 'onnx/model_fp16.onnx', data: ['onnx/model_fp16.onnx_data'] },
    { dtype: 'q8', graph: 'onnx/model_quantized.onnx', data: [] },
    { dtype: 'int8', graph: 'onnx/model_int8.onnx', data: [] },
    { dtype: 'uint8', graph: 'onnx/model_uint8.onnx', data: [] },
    {
      dtype: 'q4',
      graph: 'onnx/model_q4.onnx',
      data: ['onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1'],
    },
    { dtype: 'q4f16', graph: 'onnx/model_q4f16.onnx', data: ['onnx/model_q4f16.onnx.data'] },
    { dtype: 'bnb4', graph: 'onnx/model_bnb4.onnx', data: [] },
  ])(
    'dtype $dtype picks $graph with its external data and the config files',
    ({ dtype, graph, data }) => {
      expect(paths(dtype)).toEqual({ graph, files: [...METADATA, graph, ...data].sort() });
    },
  );

  test('falls back to the older decoder_model_merged naming, then to the split pair', () => {
    const merged = listing(
      'config.json',
      'onnx/decoder_model_merged.onnx',
      'onnx/decoder_model_merged_q4.onnx',
      'onnx/decoder_model.onnx',
    );
    expect(paths('q4', merged).graph).toBe('onnx/decoder_model_merged_q4.onnx');
    const split = listing(
      'config.json',
      'onnx/decoder_model_fp16.onnx',
      'onnx/decoder_with_past_model_fp16.onnx',
    );
    expect(paths('fp16', split)).toEqual({
      graph: 'onnx/decoder_model_fp16.onnx',
      files: [
        'config.json',
        'onnx/decoder_model_fp16.onnx',
        'onnx/decoder_with_past_model_fp16.onnx',
      ],
    });
  });

  test('an encoder-decoder export brings the encoder of the same dtype, or says which dtypes it has', () => {
    const seq2seq = listing(
      'config.json',
      'onnx/decoder_model_merged.onnx',
      'onnx/decoder_model_merged_q4.onnx',
      'onnx/encoder_model.onnx',
      'onnx/encoder_model_q4.onnx',
      'onnx/decoder_model_merged_fp16.onnx',
    );
    const q4 = selectHubFiles('org/t5', seq2seq, { dtype: 'q4' });
    expect(q4.encoder).toBe('onnx/encoder_model_q4.onnx');
    expect(q4.files.map(file => file.path).sort()).toEqual([
      'config.json',
      'onnx/decoder_model_merged_q4.onnx',
      'onnx/encoder_model_q4.onnx',
    ]);
    expect(selectHubFiles('org/t5', seq2seq).encoder).toBe('onnx/encoder_model.onnx');
    // A decoder-only export has no encoder to bring.
    expect(selectHubFiles('org/llama', listing('config.json', 'onnx/model.onnx')).encoder).toBe(
      undefined,
    );
    // fp16 decoder but no fp16 encoder: the decoder would be fed the wrong precision.
    expect(() => selectHubFiles('org/t5', seq2seq, { dtype: 'fp16' })).toThrow(
      /without a fp16 encoder \(it has onnx\/encoder_model.onnx, onnx\/encoder_model_q4.onnx\)/,
    );
  });

  test('a missing dtype is a ModelNotFoundError listing the dtypes the repo has', () => {
    const siblings = listing('config.json', 'onnx/model.onnx', 'onnx/model_q4f16.onnx');
    expect(availableHubDtypes(siblings)).toEqual(['fp32', 'q4f16']);
    let error: unknown;
    try {
      selectHubFiles('org/name', siblings, { dtype: 'q4' });
    } catch (caught) {
      error = caught;
    }
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('It offers: fp32, q4f16');
    expect((error as Error).message).toContain('onnx/model_q4.onnx');
  });

  test('an unknown dtype is an InvalidArgumentError naming the valid ones', () => {
    expect(() => selectHubFiles('org/name', TRANSFORMERS_JS, { dtype: 'q3' })).toThrow(
      /unknown dtype "q3"; use one of fp32, fp16, q8/,
    );
    try {
      selectHubFiles('org/name', TRANSFORMERS_JS, { dtype: 'q3' });
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
    }
  });

  test('an onnxruntime-genai folder is taken whole, flat', () => {
    const genai = listing(
      'README.md',
      'genai_config.json',
      'model.onnx',
      'model.onnx.data',
      'tokenizer.json',
      'tokenizer_config.json',
    );
    const selection = selectHubFiles('org/genai', genai);
    expect(selection.layout).toBe('genai');
    expect(selection.graph).toBe('model.onnx');
    expect(selection.files.map(file => file.path)).toEqual([
      'genai_config.json',
      'model.onnx',
      'model.onnx.data',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  test('several genai folders need a subfolder', () => {
    const genai = listing(
      'cpu/genai_config.json',
      'cpu/model.onnx',
      'cuda/genai_config.json',
      'cuda/model.onnx',
      'cuda/model.onnx.data',
    );
    expect(() => selectHubFiles('org/genai', genai)).toThrow(
      /several onnxruntime-genai folders \(cpu, cuda\)/,
    );
    expect(
      selectHubFiles('org/genai', genai, { subfolder: 'cuda' }).files.map(file => file.path),
    ).toEqual(['cuda/genai_config.json', 'cuda/model.onnx', 'cuda/model.onnx.data']);
  });

  test('a repo with no ONNX export is a ModelNotFoundError that says so', () => {
    expect(() =>
      selectHubFiles('org/pytorch', listing('config.json', 'model.safetensors')),
    ).toThrow(/neither ONNX graphs under onnx\//);
  });
});

describe('hub ids', () => {
  test.each([
    [
      'onnx-community/Qwen2.5-0.5B-Instruct',
      { id: 'onnx-community/Qwen2.5-0.5B-Instruct', revision: 'main' },
    ],
    ['Xenova/gpt2@v1.0', { id: 'Xenova/gpt2', revision: 'v1.0' }],
    [
      'org/name@0123456789abcdef0123456789abcdef01234567',
      { id: 'org/name', revision: '0123456789abcdef0123456789abcdef01234567' },
    ],
  ])('%s parses', (ref, expected) => {
    expect(parseHubId(ref)).toEqual(expected);
  });

  test.each([
    'stories260K',
    'karpathy/tinyllamas/stories260K',
    './org/name',
    'org/',
    'org/name@',
    'org/na me',
    '../x',
  ])('%s is not a hub id', ref => {
    expect(isHubId(ref)).toBe(false);
    expect(() => parseHubId(ref)).toThrow(/is not a hub id/);
  });
});
