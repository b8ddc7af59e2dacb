import { fc, test } from '@fast-check/vitest';
import {
  AbortedError,
  CompressedDataError,
  InvalidArgumentError,
  ModelMismatchError,
  type LoadedModel,
} from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charTokenizer, tinyModel } from './__fixtures__/tiny.js';
import {
  compress,
  compressStream,
  decompress,
  decompressStream,
  readCompressedHeader,
  type CodecProgress,
} from './codec.js';
import { decodeEqualInfoWindow, equalInfoWindows } from './equal-info-windows.js';

let model: LoadedModel;
let other: LoadedModel;
beforeAll(async () => {
  model = await tinyModel({ seed: 1 });
  other = await tinyModel({ seed: 2 });
});
afterAll(async () => {
  await model?.dispose();
  await other?.dispose();
});

const encoder = new TextEncoder();
const options = () => ({ model, tokenizer: model.tokenizer });
const thrown = async (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );
async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}

describe('compress / decompress on a seeded tiny model', () => {
  test.prop([fc.string({ unit: 'binary', maxLength: 40 })], { numRuns: 12 })(
    'round-trips arbitrary Unicode',
    async text => {
      const bytes = encoder.encode(text);
      expect(await decompress(await compress(bytes, options()), options())).toEqual(bytes);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 40 })], { numRuns: 12 })(
    'round-trips random bytes',
    async bytes => {
      expect(await decompress(await compress(bytes, options()), options())).toEqual(bytes);
    },
  );

  test.prop(
    [
      fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
      fc.integer({ min: 12, max: 20 }),
      fc.boolean(),
    ],
    { numRuns: 8 },
  )(
    'round-trips at any precision, with and without the match model',
    async (text, precision, matchModel) => {
      const bytes = encoder.encode(text);
      expect(
        await decompress(await compress(bytes, { ...options(), precision, matchModel }), options()),
      ).toEqual(bytes);
    },
  );

  it('round-trips the empty input into a header and a trailer only', async () => {
    const packed = await compress(new Uint8Array(), options());
    expect(packed.length).toBeLessThan(50); // magic, ids, settings, hashes; then 0, 0 and a CRC
    expect(await decompress(packed, options())).toEqual(new Uint8Array());
  });

  it('streams: several blocks, a context that slides many times, chunking that does not matter', async () => {
    const text =
      'the cat sat on the mat. '.repeat(12) + 'é😀\n'.repeat(5) + 'a dog ran.\n'.repeat(10);
    const bytes = encoder.encode(text); // ~450 tokens through a 64-token context
    const progress: CodecProgress[] = [];
    const oneShot = await compress(bytes, {
      ...options(),
      blockBytes: 128,
      onProgress: p => progress.push(p),
    });
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const streamed = await collect(compressStream(chunks, { ...options(), blockBytes: 128 }));
    expect(streamed).toEqual(oneShot);
    // The last report follows the last block; the trailer (end marker, length 433, CRC) is 7 bytes.
    expect(progress.at(-1)).toMatchObject({
      plainBytes: bytes.length,
      compressedBytes: oneShot.length - 7,
    });
    expect(progress.length).toBeGreaterThan(3);
    const parts: Uint8Array[] = [];
    for await (const part of decompressStream(
      [oneShot.subarray(0, 50), oneShot.subarray(50)],
      options(),
    ))
      parts.push(part);
    expect(parts.length).toBeGreaterThan(3);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(bytes));
  });

  it('codes repeated text far below its size (the match model)', async () => {
    const bytes = encoder.encode('the quick brown fox. '.repeat(40));
    const withMatch = await compress(bytes, options());
    const without = await compress(bytes, { ...options(), matchModel: false });
    expect(withMatch.length).toBeLessThan(without.length / 3);
    expect(await decompress(withMatch, options())).toEqual(bytes);
  });

  it('records the model id, revision, dtype and settings in the header', async () => {
    const packed = await compress('hello', {
      ...options(),
      precision: 14,
      identity: { revision: 'abc123', dtype: 'fp32' },
    });
    expect(await readCompressedHeader(packed)).toMatchObject({
      version: 1,
      modelId: 'tiny-1',
      revision: 'abc123',
      dtype: 'fp32',
      backendId: 'onnx-cpu',
      vocabSize: 400,
      contextLength: 64,
      startToken: 1,
      precision: 14,
      windowBits: 0,
      matchModel: true,
    });
  });
});

describe('decompress refuses what it cannot decode correctly', () => {
  it('a different model with the same id: the logits fingerprint differs', async () => {
    const packed = await compress('the cat sat.', {
      ...options(),
      identity: { modelId: 'same-name' },
    });
    const error = await thrown(
      decompress(packed, {
        model: other,
        tokenizer: other.tokenizer,
        identity: { modelId: 'same-name' },
      }),
    );
    expect(ModelMismatchError.isInstance(error)).toBe(true);
    expect((error as ModelMismatchError).field).toBe('logits fingerprint');
  });

  it.each([
    { field: 'model id', identity: {}, expected: /model id is "tiny-1".*"tiny-2"/ },
    { field: 'revision', identity: { revision: 'r2' }, expected: /revision is "r1"/ },
  ])('a different $field', async ({ field, identity, expected }) => {
    const packed = await compress('the cat sat.', { ...options(), identity: { revision: 'r1' } });
    const error = await thrown(
      decompress(packed, { model: other, tokenizer: other.tokenizer, identity }),
    );
    expect(ModelMismatchError.isInstance(error)).toBe(true);
    expect((error as ModelMismatchError).field).toBe(field);
    expect((error as Error).message).toMatch(expected);
  });

  it('a different dtype or tokenizer', async () => {
    const packed = await compress('the cat sat.', { ...options(), identity: { dtype: 'fp32' } });
    const dtype = await thrown(decompress(packed, { ...options(), identity: { dtype: 'q4' } }));
    expect((dtype as ModelMismatchError).field).toBe('dtype');
    const tokenizer = await thrown(decompress(packed, { model, tokenizer: charTokenizer(48) }));
    expect((tokenizer as ModelMismatchError).field).toBe('tokenizer hash');
  });

  it('corrupt, truncated or foreign data', async () => {
    const packed = await compress('the cat sat on the mat, and the dog sat on the log.', options());
    const flipped = packed.slice();
    flipped[packed.length - 12] ^= 0x10;
    for (const data of [
      flipped,
      packed.subarray(0, packed.length - 3),
      encoder.encode('PK\u0003\u0004 not ours'),
      new Uint8Array(),
    ]) {
      expect(CompressedDataError.isInstance(await thrown(decompress(data, options())))).toBe(true);
    }
  });

  it('an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort('stop');
    expect(
      AbortedError.isInstance(
        await thrown(compress('the cat sat.', { ...options(), signal: controller.signal })),
      ),
    ).toBe(true);
  });

  it('bad options', async () => {
    for (const bad of [
      { precision: 7 },
      { precision: 25 },
      { windowBits: 10 },
      { blockBytes: 0 },
      { contextKeep: 64 },
    ]) {
      expect(
        InvalidArgumentError.isInstance(await thrown(compress('x', { ...options(), ...bad }))),
      ).toBe(true);
    }
    // 400 codable tokens do not fit a 2^8 table.
    expect(
      ((await thrown(compress('x', { ...options(), precision: 8 }))) as Error).message,
    ).toMatch(/precision ≥/);
  });
});

describe('Equal-Info Windows', () => {
  const text = 'the cat sat on the mat. a dog ran to the cat, and the cat ran away!\n'.repeat(2);

  it.each([16, 24, 48])(
    'every window codes in ≤ %i bits and decodes alone, in any order',
    async windowBits => {
      const windowOptions = { ...options(), windowBits };
      const { windows, symbols } = await equalInfoWindows(text, windowOptions);
      expect(windows.length).toBeGreaterThan(3);
      for (const window of windows) {
        expect(window.bitLength).toBeLessThanOrEqual(windowBits);
        expect(window.symbols).toBeGreaterThan(0);
      }
      const starts = windows.map((_, i) =>
        windows.slice(0, i).reduce((sum, w) => sum + w.symbols, 0),
      );
      for (const i of [...windows.keys()].reverse()) {
        const decoded = await decodeEqualInfoWindow(
          windows[i].bytes,
          windows[i].symbols,
          windowOptions,
        );
        expect(decoded.symbols).toEqual(symbols.slice(starts[i], starts[i] + windows[i].symbols));
      }
    },
  );

  it('greedy: a window is closed only when the next token does not fit', async () => {
    const { windows } = await equalInfoWindows(text, { ...options(), windowBits: 32 });
    // A full window leaves less room than one more token costs; mean fill is therefore high.
    const meanBits =
      windows.slice(0, -1).reduce((sum, w) => sum + w.bitLength, 0) / (windows.length - 1);
    expect(meanBits).toBeGreaterThan(20);
  });

  it('the container stores the windows (W bits each) and round-trips', async () => {
    const bytes = encoder.encode(text);
    const packed = await compress(bytes, { ...options(), windowBits: 24, precision: 14 });
    expect((await readCompressedHeader(packed)).windowBits).toBe(24);
    expect(await decompress(packed, options())).toEqual(bytes);
    const plain = await compress(bytes, options());
    expect(plain.length).toBeLessThan(packed.length); // resetting the model per window costs bits
  });
});
