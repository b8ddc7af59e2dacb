import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import { maxAbsDiff } from './ort-test-utils.js';
import { SEQ2SEQ_SPECIAL_IDS, buildSeq2SeqModel } from './seq2seq-model.js';
import { seq2seqReference } from './seq2seq-reference.js';

type Feeds = Record<string, ort.Tensor>;

const int64 = (values: readonly number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);

describe('buildSeq2SeqModel', () => {
  it('is deterministic in the seed and writes the optimum / transformers.js layout', () => {
    const a = buildSeq2SeqModel({ seed: 3 });
    const b = buildSeq2SeqModel({ seed: 3 });
    const c = buildSeq2SeqModel({ seed: 4 });
    const bytes = (model: typeof a, file: string) => Buffer.from(model.files[file] as Uint8Array);
    expect(Object.keys(a.files).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/decoder_model_merged.onnx',
      'onnx/encoder_model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(
      bytes(a, 'onnx/decoder_model_merged.onnx').equals(bytes(b, 'onnx/decoder_model_merged.onnx')),
    ).toBe(true);
    expect(bytes(a, 'onnx/encoder_model.onnx').equals(bytes(c, 'onnx/encoder_model.onnx'))).toBe(
      false,
    );
    const split = buildSeq2SeqModel({ seed: 3, layout: 'split' });
    expect(Object.keys(split.files)).toContain('onnx/decoder_with_past_model.onnx');
    expect(Object.keys(split.files)).toContain('onnx/decoder_model.onnx');
    expect(JSON.parse(a.files['config.json'] as string)).toMatchObject({
      is_encoder_decoder: true,
      d_model: 16,
      decoder_layers: 2,
      decoder_start_token_id: SEQ2SEQ_SPECIAL_IDS.decoderStart,
    });
  });

  it('refuses impossible shapes', () => {
    expect(() => buildSeq2SeqModel({ seed: 1, dim: 10, heads: 4 })).toThrow(InvalidArgumentError);
    expect(() => buildSeq2SeqModel({ seed: 1, decoderLayers: 0 })).toThrow(InvalidArgumentError);
  });

  it('runs in ONNX Runtime with the reference forward: encoder once, cross KV once, merged and split decoders', async () => {
    const model = buildSeq2SeqModel({ seed: 5, layout: 'merged' });
    const split = buildSeq2SeqModel({ seed: 5, layout: 'split' });
    const { config } = model;
    const reference = seq2seqReference(config, model.weights);
    const open = (bytes: string | Uint8Array) => ort.InferenceSession.create(bytes as Uint8Array);
    const encoder = await open(model.files['onnx/encoder_model.onnx']);
    const merged = await open(model.files['onnx/decoder_model_merged.onnx']);
    const first = await open(split.files['onnx/decoder_model.onnx']);
    const withPast = await open(split.files['onnx/decoder_with_past_model.onnx']);
    expect(merged.inputNames).toEqual([
      'encoder_attention_mask',
      'input_ids',
      'encoder_hidden_states',
      ...Array.from({ length: config.decoderLayers }, (_, i) => [
        `past_key_values.${i}.decoder.key`,
        `past_key_values.${i}.decoder.value`,
        `past_key_values.${i}.encoder.key`,
        `past_key_values.${i}.encoder.value`,
      ]).flat(),
      'use_cache_branch',
    ]);
    expect(withPast.inputNames).not.toContain('encoder_hidden_states');
    expect(withPast.outputNames).not.toContain('present.0.encoder.key');

    const source = [1, 7, 9, 4, 12, 5];
    const { last_hidden_state: hidden } = await encoder.run({
      input_ids: int64(source),
      attention_mask: int64(source.map(() => 1)),
    });
    const expectedHidden = reference.encode(source);
    expect(maxAbsDiff(hidden.data as Float32Array, expectedHidden)).toBeLessThan(1e-4);

    const headDim = config.dim / config.heads;
    const empty = new ort.Tensor('float32', new Float32Array(0), [1, config.heads, 0, headDim]);
    const common: Feeds = { encoder_attention_mask: int64(source.map(() => 1)) };
    // Step 1 on an empty cache computes the cross-attention cache; steps 2.. reuse it.
    const decoderTokens = [SEQ2SEQ_SPECIAL_IDS.decoderStart, 8, 3, 11];
    const pastFeeds = (outputs: ort.InferenceSession.OnnxValueMapType, withEncoder: Feeds) => {
      const feeds: Feeds = {};
      for (let i = 0; i < config.decoderLayers; i++) {
        for (const part of ['key', 'value']) {
          feeds[`past_key_values.${i}.decoder.${part}`] = outputs[
            `present.${i}.decoder.${part}`
          ] as ort.Tensor;
          feeds[`past_key_values.${i}.encoder.${part}`] = withEncoder[`${i}.${part}`];
        }
      }
      return feeds;
    };
    const emptyPast: Feeds = {};
    for (let i = 0; i < config.decoderLayers; i++)
      for (const side of ['decoder', 'encoder'])
        for (const part of ['key', 'value'])
          emptyPast[`past_key_values.${i}.${side}.${part}`] = empty;
    const firstMerged = await merged.run({
      ...common,
      ...emptyPast,
      input_ids: int64(decoderTokens.slice(0, 1)),
      encoder_hidden_states: hidden,
      use_cache_branch: new ort.Tensor('bool', Uint8Array.of(0), [1]),
    });
    const firstSplit = await first.run({
      ...common,
      input_ids: int64(decoderTokens.slice(0, 1)),
      encoder_hidden_states: hidden,
    });
    const cross: Feeds = {};
    for (let i = 0; i < config.decoderLayers; i++)
      for (const part of ['key', 'value'])
        cross[`${i}.${part}`] = firstMerged[`present.${i}.encoder.${part}`] as ort.Tensor;
    expect(cross['0.key'].dims).toEqual([1, config.heads, source.length, headDim]);
    const expected = reference.decode(expectedHidden, decoderTokens);
    const vocab = config.vocabSize;
    expect(
      maxAbsDiff(firstMerged.logits.data as Float32Array, expected.subarray(0, vocab)),
    ).toBeLessThan(1e-4);
    expect(
      maxAbsDiff(firstSplit.logits.data as Float32Array, expected.subarray(0, vocab)),
    ).toBeLessThan(1e-4);
    // Three rows on top of the cache at once (a chain, as speculative verification runs).
    const rest = int64(decoderTokens.slice(1));
    const mergedRest = await merged.run({
      ...common,
      ...pastFeeds(firstMerged, cross),
      input_ids: rest,
      // The cache branch never reads encoder_hidden_states: a tensor of the wrong content changes nothing.
      encoder_hidden_states: new ort.Tensor(
        'float32',
        new Float32Array(hidden.data.length),
        hidden.dims,
      ),
      use_cache_branch: new ort.Tensor('bool', Uint8Array.of(1), [1]),
    });
    const splitRest = await withPast.run({
      ...common,
      ...pastFeeds(firstSplit, cross),
      input_ids: rest,
    });
    expect(
      maxAbsDiff(mergedRest.logits.data as Float32Array, expected.subarray(vocab)),
    ).toBeLessThan(1e-4);
    expect(
      maxAbsDiff(splitRest.logits.data as Float32Array, expected.subarray(vocab)),
    ).toBeLessThan(1e-4);
    expect((mergedRest['present.0.decoder.key'] as ort.Tensor).dims).toEqual([
      1,
      config.heads,
      4,
      headDim,
    ]);
    for (const session of [encoder, merged, first, withPast]) await session.release();
  });

  it('greedy reference decoding is deterministic and stops at EOS or maxTokens', () => {
    const { config, weights } = buildSeq2SeqModel({ seed: 5 });
    const reference = seq2seqReference(config, weights);
    const output = reference.greedy([1, 5, 6, 7], 12);
    expect(output.length).toBeGreaterThan(0);
    expect(output.length).toBeLessThanOrEqual(12);
    expect(reference.greedy([1, 5, 6, 7], 12)).toEqual(output);
    expect(() => reference.encode([])).toThrow(InvalidArgumentError);
    expect(() => reference.encode([config.vocabSize])).toThrow(InvalidArgumentError);
  });
});
