import { afterAll, describe, expect, it } from 'vitest';
import {
  ContextLengthError,
  InvalidArgumentError,
  ModelFormatError,
  createDecoder,
  type LoadedModel,
} from '@decodekit/core';
import { buildSeq2SeqModel, buildTinyModel, seq2seqReference } from '@decodekit/models';
import { writeFolder } from './__fixtures__/model-folders';
import {
  createCpuBackend,
  describeGraph,
  fetchModelFiles,
  loadModel,
  seq2seqCounters,
} from './index';

const SOURCES = [
  [1, 5, 9, 14, 3],
  [1, 20, 21, 22, 23, 24, 25, 26],
  [1, 7],
  [1, 30, 4, 30, 4, 30, 4],
];

const fixture = buildSeq2SeqModel({ seed: 21 });
const reference = seq2seqReference(fixture.config, fixture.weights);
const mergedFolder = writeFolder('seq2seq-merged', fixture.files);
const splitFolder = writeFolder(
  'seq2seq-split',
  buildSeq2SeqModel({ seed: 21, layout: 'split' }).files,
);
const opened: LoadedModel[] = [];
const backend = createCpuBackend();
async function open(folder: string): Promise<LoadedModel> {
  const model = await backend.load(folder);
  opened.push(model);
  return model;
}
afterAll(async () => {
  for (const model of opened) await model.dispose();
});

describe('encoder-decoder models (onnx-cpu)', () => {
  it.each([
    { layout: 'merged', folder: mergedFolder },
    { layout: 'split', folder: splitFolder },
  ])(
    '$layout layout: greedy equals the reference forward; one encoder run and one cross-attention cache per request',
    async ({ folder, layout }) => {
      const model = await open(folder);
      expect(model.encoderDecoder?.decoderStartTokenId).toBe(2);
      expect(describeGraph(model)).toMatchObject({
        encoderGraph: 'onnx/encoder_model.onnx',
        graph:
          layout === 'merged'
            ? 'onnx/decoder_model_merged.onnx'
            : 'onnx/decoder_with_past_model.onnx',
      });
      const decoder = createDecoder({ model });
      for (const [index, source] of SOURCES.entries()) {
        const result = await decoder.generate(
          { tokens: source },
          { maxTokens: 24, temperature: 0 },
        );
        expect(result.tokens, `source ${source}`).toEqual(reference.greedy(source, 24));
        // The fixture is no degenerate stub: every source decodes to a run of tokens, not EOS at once.
        expect(result.tokens.length).toBeGreaterThan(4);
        expect(result.promptTokens).toEqual(source);
        expect(result.stats.encoderCalls).toBe(1);
        expect(seq2seqCounters(model)).toEqual({
          encoderRuns: index + 1,
          crossAttentionRuns: index + 1,
        });
      }
    },
  );

  it('sequences of one encoding share the cross-attention cache; forks, multi-row chains and truncate match the reference', async () => {
    const model = await open(mergedFolder);
    const seq2seq = model.encoderDecoder;
    if (seq2seq === undefined) throw new Error('not an encoder-decoder model');
    const source = SOURCES[1];
    const before = seq2seqCounters(model);
    const encoding = await seq2seq.encode(Int32Array.from(source));
    expect(encoding.hidden).toHaveLength(source.length * fixture.config.dim);
    const vocab = fixture.config.vocabSize;
    const tokens = [2, 11, 6, 19, 8];
    const expected = reference.decode(reference.encode(source), tokens);
    const sequence = model.createSequence({ encoding });
    const first = await sequence.forward({ tokens: Int32Array.of(tokens[0]) });
    sequence.commit([0]);
    const fork = sequence.fork();
    // Four rows at once on the cache, as a verified draft chain runs.
    const chain = await fork.forward({ tokens: Int32Array.from(tokens.slice(1)) });
    fork.commit([0, 1]);
    const second = model.createSequence({ encoding });
    const whole = await second.forward({ tokens: Int32Array.from(tokens) });
    fork.truncate(1);
    const again = await fork.forward({ tokens: Int32Array.of(tokens[1]) });
    const close = (actual: Float32Array, from: number, to: number) => {
      const target = expected.subarray(from * vocab, to * vocab);
      let largest = 0;
      for (let index = 0; index < target.length; index++)
        largest = Math.max(largest, Math.abs(actual[index] - target[index]));
      return largest;
    };
    expect(close(first.logits, 0, 1)).toBeLessThan(1e-4);
    expect(close(chain.logits, 1, 5)).toBeLessThan(1e-4);
    expect(close(whole.logits, 0, 5)).toBeLessThan(1e-4);
    expect(close(again.logits, 1, 2)).toBeLessThan(1e-4);
    // One encoder run, one cross-attention computation for the three sequences.
    expect(seq2seqCounters(model)).toEqual({
      encoderRuns: (before?.encoderRuns ?? 0) + 1,
      crossAttentionRuns: (before?.crossAttentionRuns ?? 0) + 1,
    });
    for (const open of [sequence, fork, second]) open.dispose();
  });

  it('refuses a sequence without an encoding, foreign encodings and over-long or empty sources', async () => {
    const model = await open(mergedFolder);
    const other = await open(splitFolder);
    expect(() => model.createSequence()).toThrow(InvalidArgumentError);
    const foreign = await other.encoderDecoder?.encode(Int32Array.of(1, 2));
    expect(() => model.createSequence({ encoding: foreign })).toThrow(/not made by/);
    await expect(model.encoderDecoder?.encode(new Int32Array(0))).rejects.toThrow(
      InvalidArgumentError,
    );
    const decoder = createDecoder({ model });
    await expect(
      decoder.generate({
        tokens: Array.from({ length: fixture.config.maxPositions + 1 }, () => 5),
      }),
    ).rejects.toThrow(ContextLengthError);
  });

  it('refuses a decoder graph without the seq2seq I/O, naming what is missing', async () => {
    const tiny = buildSeq2SeqModel({ seed: 3 });
    const broken = writeFolder('seq2seq-broken', {
      ...tiny.files,
      // A decoder-only graph where the seq2seq decoder should be.
      'onnx/decoder_model_merged.onnx': tiny.files['onnx/encoder_model.onnx'],
    });
    await expect(backend.load(broken)).rejects.toThrow(ModelFormatError);
    await expect(backend.load(broken)).rejects.toThrow(/past_key_values\.0\.decoder\.key/);
    const noStart = writeFolder('seq2seq-no-start', {
      ...tiny.files,
      'config.json': JSON.stringify({
        ...JSON.parse(tiny.files['config.json'] as string),
        decoder_start_token_id: undefined,
      }),
      'generation_config.json': '{}',
    });
    await expect(backend.load(noStart)).rejects.toThrow(/decoder_start_token_id/);
  });

  it('loadModel takes a seq2seq folder as it is, and text prompts decode', async () => {
    const model = await loadModel(mergedFolder);
    opened.push(model);
    const { text, tokens, stats } = await createDecoder({ model }).generate('hello there', {
      maxTokens: 12,
      temperature: 0,
    });
    const source = model.tokenizer.encode('hello there');
    expect(tokens).toEqual(reference.greedy(source, 12));
    expect(text).toBe(model.tokenizer.decode(tokens));
    expect(stats.encoderCalls).toBe(1);
  });

  it('a seq2seq folder served over HTTP (browsers) loads: fetchModelFiles fetches the encoder when config.json says is_encoder_decoder', async () => {
    const requested: string[] = [];
    const serve = (files: Readonly<Record<string, string | Uint8Array>>) => async (url: string) => {
      const path = url.replace('https://models.test/tiny/', '');
      requested.push(path);
      const body = files[path];
      if (body === undefined) return new Response(null, { status: 404 });
      return new Response(typeof body === 'string' ? body : new Uint8Array(body));
    };
    const files = await fetchModelFiles('https://models.test/tiny', {
      fetch: serve(fixture.files),
    });
    expect(files.encoderOnnxFile).toBe('onnx/encoder_model.onnx');
    const { onnx } = files;
    if (!(onnx instanceof Uint8Array))
      throw new Error('a graph without external data comes as bytes');
    const model = await backend.load({ ...files, onnx }, { name: 'tiny-seq2seq-over-http' });
    opened.push(model);
    const source = SOURCES[0];
    const { tokens } = await createDecoder({ model }).generate(
      { tokens: source },
      { maxTokens: 16 },
    );
    expect(tokens).toEqual(reference.greedy(source, 16));
    // A decoder-only folder is never asked for an encoder; a seq2seq one without it is refused.
    requested.length = 0;
    await fetchModelFiles('https://models.test/tiny', {
      fetch: serve(buildTinyModel({ seed: 1 }).files),
    });
    expect(requested.some(path => path.includes('encoder'))).toBe(false);
    const withoutEncoder = Object.fromEntries(
      Object.entries(fixture.files).filter(([path]) => !path.includes('encoder')),
    );
    await expect(
      fetchModelFiles('https://models.test/tiny', { fetch: serve(withoutEncoder) }),
    ).rejects.toThrow(/is_encoder_decoder/);
  });
});
