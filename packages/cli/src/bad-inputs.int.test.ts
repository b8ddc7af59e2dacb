/**
 * Bad input, end to end through the public API: every case is a typed DecodingError with a message that
 * says what to do — never a hang, a raw ONNX Runtime stack or a silently wrong result.
 */
import { copyFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortedError,
  ContextLengthError,
  createDecoder,
  DecodingError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  UnsupportedCapabilityError,
  type LoadedModel,
} from '@decodekit/core';
import { createCpuBackend, loadModel } from '@decodekit/backend-onnx';
import { buildTinyModel } from '@decodekit/models';
import { convertLlama2cToFolder, resolveModel, writeModelFolder } from '@decodekit/models/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const mirror = process.env.DECODEKIT_MODELS ?? '../shared/models';
const stories = join(mirror, 'karpathy/tinyllamas/stories260K');

async function rejection(promise: Promise<unknown>): Promise<DecodingError> {
  try {
    await promise;
  } catch (error) {
    expect(DecodingError.isInstance(error), `not a DecodingError: ${String(error)}`).toBe(true);
    const message = (error as Error).message;
    expect(message).not.toMatch(/\n\s+at /); // no stack trace inside the message
    return error as DecodingError;
  }
  throw new Error('expected a rejection');
}

describe('bad inputs are typed DecodingErrors with actionable messages', () => {
  let work: string;
  let cache: string;
  let model: LoadedModel;
  let folder: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'decodekit-bad-'));
    cache = join(work, 'cache');
    folder = await resolveModel('karpathy/tinyllamas/stories260K', { cacheDir: cache });
    model = await createCpuBackend().load(folder);
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('1. a missing model folder lists where it looked', async () => {
    const error = await rejection(loadModel(join(work, 'no-such-folder'), { cacheDir: cache }));
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain('no-such-folder');
  });

  it('2. a corrupt onnx file is a ModelFormatError, not an ONNX Runtime stack', async () => {
    const broken = join(work, 'corrupt');
    const tiny = buildTinyModel({ seed: 1 });
    await writeModelFolder(broken, tiny.files);
    writeFileSync(join(broken, 'onnx/model.onnx'), 'this is not a protobuf');
    const error = await rejection(createCpuBackend().load(broken));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/model\.onnx/);
  });

  it('3. config.json whose vocab disagrees with the graph is a ModelFormatError', async () => {
    const mismatched = join(work, 'mismatch');
    const tiny = buildTinyModel({ seed: 2 });
    await writeModelFolder(mismatched, tiny.files);
    const config = JSON.parse(readFileSync(join(mismatched, 'config.json'), 'utf8'));
    writeFileSync(join(mismatched, 'config.json'), JSON.stringify({ ...config, vocab_size: 7 }));
    const error = await rejection(createCpuBackend().load(mismatched));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/vocab/i);
  });

  it('4. a truncated llama2.c checkpoint says how many bytes it expected', async () => {
    const source = join(work, 'truncated-src');
    mkdirSync(source);
    copyFileSync(join(stories, 'stories260K.bin'), join(source, 'model.bin'));
    copyFileSync(join(stories, 'tok512.bin'), join(source, 'tok512.bin'));
    truncateSync(join(source, 'model.bin'), 500_000);
    const error = await rejection(convertLlama2cToFolder(join(source, 'model.bin'), join(source, 'tok512.bin'), join(work, 'truncated-out')));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/bytes/);
  });

  it('5. an unknown tokenizer format is a ModelFormatError', async () => {
    const odd = join(work, 'odd-tokenizer');
    const tiny = buildTinyModel({ seed: 3 });
    await writeModelFolder(odd, tiny.files);
    writeFileSync(join(odd, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'NoSuchModel' } }));
    const error = await rejection(createCpuBackend().load(odd));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/tokenizer/);
  });

  it('6. a prompt longer than the context is a ContextLengthError', async () => {
    const error = await rejection(createDecoder({ model }).generate({ tokens: new Array(600).fill(300) }));
    expect(ContextLengthError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/Shorten the prompt/);
  });

  it('7. maxTokens ≤ 0 is an InvalidArgumentError', async () => {
    const error = await rejection(createDecoder({ model }).generate('Once', { maxTokens: 0 }));
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe('maxTokens');
  });

  it('8. top-p outside (0, 1] is an InvalidArgumentError', async () => {
    for (const topP of [0, 1.5, -1]) {
      const error = await rejection(createDecoder({ model }).generate('Once', { temperature: 1, topP }));
      expect((error as InvalidArgumentError).argument).toBe('topP');
    }
  });

  it('9. using a disposed model is a DisposedError', async () => {
    const doomed = await createCpuBackend().load(folder);
    await doomed.dispose();
    const error = await rejection(createDecoder({ model: doomed }).generate('Once'));
    expect(DisposedError.isInstance(error)).toBe(true);
  });

  it('10. aborting mid-stream rejects with AbortedError after the tokens so far', async () => {
    const controller = new AbortController();
    let seen = 0;
    const run = async () => {
      for await (const event of createDecoder({ model }).stream('Once upon a time', { maxTokens: 400, signal: controller.signal })) {
        if (event.type === 'token' && ++seen === 10) controller.abort('user stop');
      }
    };
    const error = await rejection(run());
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(seen).toBeGreaterThanOrEqual(10);
    expect(seen).toBeLessThan(400);
  });

  it('11. a tree request on a plain export is an UnsupportedCapabilityError that says how to fix it', async () => {
    const plainFolder = join(work, 'plain');
    await convertLlama2cToFolder(join(stories, 'stories260K.bin'), join(stories, 'tok512.bin'), plainFolder, { plain: true });
    const plain = await createCpuBackend().load(plainFolder);
    try {
      expect(plain.capabilities.tree).toBe(false);
      const sequence = plain.createSequence();
      const error = await rejection(sequence.forward({ tokens: Int32Array.from([1, 2, 3]), parents: Int32Array.from([-1, 0, 0]) }));
      expect(UnsupportedCapabilityError.isInstance(error)).toBe(true);
      expect(error.message).toMatch(/plain/);
    } finally {
      await plain.dispose();
    }
  });

  it('12. offline and not cached lists every place looked at', async () => {
    const error = await rejection(
      resolveModel('karpathy/tinyllamas/stories260K', { cacheDir: join(work, 'empty-cache'), mirrors: [], offline: true }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect((error as ModelNotFoundError).searched.length).toBeGreaterThanOrEqual(2);
  });

  it('13. an unknown hub id is a ModelNotFoundError', async () => {
    const error = await rejection(resolveModel('nobody/nothing', { cacheDir: join(work, 'empty-cache'), mirrors: [mirror], offline: true }));
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
  });

  it('14. unknown --strategy options are rejected with the accepted list', async () => {
    const { parseStrategySpec } = await import('./strategy-spec.js');
    expect(() => parseStrategySpec('token-recycling:budget')).toThrow(/key=value/);
  });
});
