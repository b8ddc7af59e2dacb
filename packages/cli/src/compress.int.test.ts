/** `decodekit compress` / `decompress` end to end on stories260K. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CompressedDataError, InvalidArgumentError, ModelMismatchError } from '@decodekit/core';
import { buildTinyModel } from '@decodekit/models';
import { writeModelFolder } from '@decodekit/models/node';
import { describe, expect, it } from 'vitest';
import { createProgram } from './program.js';

async function run(args: string[]): Promise<string> {
  let err = '';
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    await createProgram().parseAsync(['node', 'decodekit', ...args]);
  } finally {
    process.stderr.write = writeErr;
  }
  return err;
}

async function failure(args: string[]): Promise<unknown> {
  return run(args).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('decodekit compress / decompress', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-compress-'));
  const text =
    'Once upon a time, there was a little dog named Max. Max liked to run in the park. One day, he saw a big red ball. ' +
    'He wanted to play with it, so he ran fast. The ball went into the pond! Max was sad. A kind girl named Lily came ' +
    'and got the ball for him. Max was happy and they played all day.\n';
  const input = join(work, 'story.txt');
  writeFileSync(input, text);

  it('round-trips a file and reports the ratio', async () => {
    const log = await run(['compress', input, '-o', join(work, 'story.dkz')]);
    expect(log).toMatch(/compressed .* bits\/byte/);
    // Header included (model id, revision, dtype: ~80 bytes), still under gzip -9.
    expect(readFileSync(join(work, 'story.dkz')).length).toBeLessThan(
      gzipSync(text, { level: 9 }).length,
    );
    await run(['decompress', join(work, 'story.dkz'), '-o', join(work, 'story.out')]);
    expect(readFileSync(join(work, 'story.out'), 'utf8')).toBe(text);
    // Default output names: FILE.dkz, and FILE without .dkz.
    const copy = join(work, 'copy.txt');
    writeFileSync(copy, text);
    await run(['compress', copy, '--window-bits', '64']);
    writeFileSync(copy, 'overwritten');
    await run(['decompress', `${copy}.dkz`]);
    expect(readFileSync(copy, 'utf8')).toBe(text);
  });

  it('refuses another model, corrupt data and missing files with typed errors, leaving no output', async () => {
    await run(['compress', input, '-o', join(work, 'a.dkz')]);
    const tiny = await writeModelFolder(
      join(work, 'tiny'),
      buildTinyModel({ seed: 3, vocabSize: 400, contextLength: 64 }).files,
    );
    const mismatch = await failure([
      'decompress',
      join(work, 'a.dkz'),
      '--model',
      tiny,
      '-o',
      join(work, 'a.out'),
    ]);
    expect(ModelMismatchError.isInstance(mismatch)).toBe(true);
    expect(existsSync(join(work, 'a.out'))).toBe(false);
    expect(existsSync(join(work, 'a.out.partial'))).toBe(false);

    const corrupt = readFileSync(join(work, 'a.dkz'));
    corrupt[corrupt.length - 10] ^= 0xff;
    writeFileSync(join(work, 'corrupt.dkz'), corrupt);
    expect(
      CompressedDataError.isInstance(await failure(['decompress', join(work, 'corrupt.dkz')])),
    ).toBe(true);
    expect(existsSync(join(work, 'corrupt'))).toBe(false);

    expect(
      InvalidArgumentError.isInstance(await failure(['compress', join(work, 'missing.txt')])),
    ).toBe(true);
  });
});
