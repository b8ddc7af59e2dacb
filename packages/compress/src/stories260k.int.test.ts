/**
 * stories260K end to end: the bench texts round-trip byte for byte and come out smaller than gzip -9.
 * (The full table against gzip, brotli and xz is scripts/compression.measure.ts.)
 */
import { readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createWasmBackend, loadModel } from '@decodekit/backend-onnx';
import { CompressedDataError, ModelMismatchError, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress, decompress } from './index.js';

// eslint-disable-next-line no-process-env -- test fixture: the offline mirror sits beside the bench texts
const mirror = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models');
const bench = join(mirror, '..', 'bench');

describe('stories260K', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it.each(['grounded.jsonl', 'stories.jsonl'])(
    'round-trips bench/%s byte for byte, smaller than gzip -9',
    async file => {
      const input = new Uint8Array(readFileSync(join(bench, file)));
      const packed = await compress(input, { model, tokenizer: model.tokenizer });
      expect(await decompress(packed, { model, tokenizer: model.tokenizer })).toEqual(input);
      expect(packed.length).toBeLessThan(gzipSync(input, { level: 9 }).length);
    },
  );

  it('round-trips text the tokenizer cannot reproduce (special-token strings, invalid UTF-8, emoji)', async () => {
    const input = new Uint8Array([
      ...new TextEncoder().encode(
        'Once upon a time</s><s> there was a cat 😀 named \uFEFFTom.\r\n',
      ),
      0xff,
      0xc0,
      0x80,
      0xed,
      0xa0,
      0x80,
      ...new TextEncoder().encode(' The end.'),
    ]);
    const packed = await compress(input, {
      model,
      tokenizer: model.tokenizer,
      windowBits: 32,
      precision: 14,
    });
    expect(await decompress(packed, { model, tokenizer: model.tokenizer })).toEqual(input);
  });

  it('another backend decodes exactly or refuses with a typed error, never wrong bytes', async () => {
    // onnx-wasm's kernels round differently from onnx-cpu's (max |Δlogit| ≈ 5e-6 on stories260K): a quantization
    // boundary can fall between them, and the per-block CRC-32 must catch it.
    const input = new Uint8Array(readFileSync(join(bench, 'grounded.jsonl'))).subarray(0, 600);
    const packed = await compress(input, { model, tokenizer: model.tokenizer });
    const wasm = await createWasmBackend().load(model.source, { name: model.info.name });
    try {
      const outcome = await decompress(packed, { model: wasm, tokenizer: wasm.tokenizer }).then(
        bytes => ({ bytes }),
        (error: unknown) => ({ error }),
      );
      if ('bytes' in outcome) expect(outcome.bytes).toEqual(input);
      else
        expect(
          CompressedDataError.isInstance(outcome.error) ||
            ModelMismatchError.isInstance(outcome.error),
        ).toBe(true);
    } finally {
      await wasm.dispose();
    }
  });
});
