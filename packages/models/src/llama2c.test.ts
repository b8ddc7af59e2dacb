import { describe, expect, test } from 'vitest';
import { ModelFormatError } from '@decodekit/core';
import { readLlama2cCheckpoint, readLlama2cTokenizer, writeLlama2cCheckpoint } from './llama2c.js';
import { modelBytes } from './ort-test-utils.js';

const stories = () => modelBytes('karpathy/tinyllamas/stories260K/stories260K.bin');
const tok512 = () => modelBytes('karpathy/tinyllamas/stories260K/tok512.bin');

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('readLlama2cCheckpoint', () => {
  test('reads the stories260K header and tensors', () => {
    const { config, weights } = readLlama2cCheckpoint(stories());
    expect(config).toEqual({
      vocabSize: 512,
      dim: 64,
      hiddenDim: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      contextLength: 512,
      tiedEmbeddings: true,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
    });
    expect(weights.tokenEmbedding.length).toBe(512 * 64);
    expect(weights.wk.length).toBe(5 * 32 * 64);
    expect(weights.w2.length).toBe(5 * 64 * 172);
    expect(weights.rmsFinal.length).toBe(64);
    expect(weights.wcls).toBeUndefined();
    // The first embedding float is right after the 28-byte header.
    const view = new DataView(stories().buffer);
    expect(weights.tokenEmbedding[0]).toBe(view.getFloat32(28, true));
  });

  test('reads llama2xs (context 256)', () => {
    const { config } = readLlama2cCheckpoint(modelBytes('llama2xs/model.bin'));
    expect(config.contextLength).toBe(256);
    expect(config.hiddenDim).toBe(192);
  });

  test('accepts an unaligned view', () => {
    const bytes = stories();
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes, 1);
    const { weights } = readLlama2cCheckpoint(padded.subarray(1));
    expect(weights.rmsFinal).toEqual(readLlama2cCheckpoint(bytes).weights.rmsFinal);
  });

  test('negative vocab size reads an unshared classifier', () => {
    const bytes = stories();
    const extra = 512 * 64 * 4;
    const unshared = new Uint8Array(bytes.length + extra);
    unshared.set(bytes);
    new DataView(unshared.buffer).setInt32(20, -512, true);
    new DataView(unshared.buffer).setFloat32(bytes.length, 1.5, true);
    const { config, weights } = readLlama2cCheckpoint(unshared);
    expect(config.tiedEmbeddings).toBe(false);
    expect(weights.wcls?.length).toBe(512 * 64);
    expect(weights.wcls?.[0]).toBe(1.5);
  });

  test('a truncated file names the expected and actual sizes', () => {
    const error = catchError(() =>
      readLlama2cCheckpoint(stories().subarray(0, 1000), 'stories260K.bin'),
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('stories260K.bin');
    expect(error.message).toContain('expected 1056540 bytes');
    expect(error.message).toContain('1000 bytes');
    expect(error.message).toContain('truncated');
  });

  test('rejects a tiny or nonsense header', () => {
    expect(
      ModelFormatError.isInstance(catchError(() => readLlama2cCheckpoint(new Uint8Array(10)))),
    ).toBe(true);
    const header = new Uint8Array(28);
    new DataView(header.buffer).setInt32(0, 65, true);
    const error = catchError(() => readLlama2cCheckpoint(header));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('invalid llama2.c header');
  });

  test('rejects the versioned export with a hint', () => {
    const bytes = new Uint8Array(256);
    new DataView(bytes.buffer).setUint32(0, 0x616b3432, true);
    expect(catchError(() => readLlama2cCheckpoint(bytes)).message).toContain('--version 0');
  });
});

describe('readLlama2cTokenizer', () => {
  test('reads tok512.bin', () => {
    const { maxTokenLength, tokens } = readLlama2cTokenizer(tok512());
    expect(maxTokenLength).toBe(7);
    expect(tokens).toHaveLength(512);
    const text = (id: number) => new TextDecoder().decode(tokens[id].bytes);
    expect(text(1)).toBe('\n<s>\n');
    expect(text(3)).toBe('<0x00>');
    expect(text(403)).toBe(' Once');
    expect(tokens[403].score).toBe(-144);
  });

  test('a truncated tokenizer is a ModelFormatError', () => {
    const error = catchError(() => readLlama2cTokenizer(tok512().subarray(0, 3000), 'tok512.bin'));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('tok512.bin');
    expect(error.message).toMatch(/truncated/);
  });

  test('checks the token count when given', () => {
    const error = catchError(() => readLlama2cTokenizer(tok512(), 'tok512.bin', 32000));
    expect(error.message).toContain('expected 32000 tokens');
  });
});

describe('writeLlama2cCheckpoint', () => {
  test("round-trips stories260K byte for byte outside RoPE's tables, which match run.c's to float precision", () => {
    const original = stories();
    const written = writeLlama2cCheckpoint(readLlama2cCheckpoint(original));
    expect(written.byteLength).toBe(original.byteLength);
    const { config } = readLlama2cCheckpoint(original);
    const tensorsEnd = 28 + 4 * (original.byteLength / 4 - 7 - config.contextLength * 8);
    expect(
      Buffer.from(written.subarray(0, tensorsEnd)).equals(
        Buffer.from(original.subarray(0, tensorsEnd)),
      ),
    ).toBe(true);
    const a = new DataView(original.buffer, original.byteOffset);
    const b = new DataView(written.buffer, written.byteOffset);
    let worst = 0;
    for (let offset = tensorsEnd; offset < original.byteLength; offset += 4)
      worst = Math.max(worst, Math.abs(a.getFloat32(offset, true) - b.getFloat32(offset, true)));
    expect(worst).toBeLessThan(1e-4);
  });

  test('refuses weights that do not match the config', () => {
    const { config, weights } = readLlama2cCheckpoint(stories());
    expect(() =>
      writeLlama2cCheckpoint({ config, weights: { ...weights, wq: new Float32Array(3) } }),
    ).toThrow(ModelFormatError);
    expect(() =>
      writeLlama2cCheckpoint({ config: { ...config, tiedEmbeddings: false }, weights }),
    ).toThrow(/untied classifier/);
  });
});
