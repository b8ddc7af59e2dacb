import { ModelFormatError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { readModelConfig } from './model-config';

const config = {
  vocab_size: 512,
  num_hidden_layers: 5,
  hidden_size: 64,
  max_position_embeddings: 512,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  bos_token_id: 1,
  eos_token_id: 2,
};

describe('readModelConfig', () => {
  it('reads ModelInfo and the KV shape', () => {
    expect(readModelConfig(config, undefined, 'm')).toEqual({
      info: {
        name: 'm',
        vocabSize: 512,
        contextLength: 512,
        bosTokenId: 1,
        eosTokenIds: [2],
        numLayers: 5,
        hiddenSize: 64,
      },
      shape: { kvHeads: 4, headDim: 8 },
    });
  });

  it.each([
    { generation: { eos_token_id: [1, 2] }, expected: [1, 2] },
    { generation: { eos_token_id: 7 }, expected: [7] },
    { generation: {}, expected: [2] },
  ])('takes EOS ids from generation_config first ($generation)', ({ generation, expected }) => {
    expect(readModelConfig(config, generation, 'm').info.eosTokenIds).toEqual(expected);
  });

  it.each([
    { patch: { vocab_size: undefined }, text: /vocab_size/ },
    { patch: { hidden_size: 'big' }, text: /hidden_size/ },
    { patch: { eos_token_id: 9999 }, text: /outside the vocabulary/ },
    { patch: { num_attention_heads: 7 }, text: /not divisible/ },
  ])('rejects a malformed config ($text)', ({ patch, text }) => {
    let caught: unknown;
    try {
      readModelConfig({ ...config, ...patch }, undefined, 'm');
    } catch (error) {
      caught = error;
    }
    expect(ModelFormatError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toMatch(text);
  });
});
