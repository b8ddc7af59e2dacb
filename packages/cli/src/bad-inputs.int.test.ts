/**
 * Bad input, end to end, table-driven (bad-inputs.table.ts): every row is a typed DecodingError with a
 * message that says what to do — never a hang, a raw ONNX Runtime stack or a silently wrong result — through
 * the API and, where the command line takes the input, through `decodekit` (one line on stderr, exit 2).
 * docs/errors.md is rendered from the same table and must match it.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AbortedError,
  ContextLengthError,
  DecodingError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  type DecodeEvent,
  type LoadedModel,
} from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { buildTinyModel } from '@decodekit/models';
import { resolveModel, writeModelFolder } from '@decodekit/models/node';
import { ConstraintDeadEndError } from '@decodekit/strategy-constrained';
import { assert, afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BAD_INPUTS,
  renderErrorsDoc,
  type BadInputFixtures,
  type Outcome,
} from './bad-inputs.table.js';
import { runCli } from './run-cli.js';

const isInstance: Record<Exclude<Outcome, 'warning' | 'ok'>, (error: unknown) => boolean> = {
  InvalidArgumentError: error => InvalidArgumentError.isInstance(error),
  ModelNotFoundError: error => ModelNotFoundError.isInstance(error),
  ModelFormatError: error => ModelFormatError.isInstance(error),
  ContextLengthError: error => ContextLengthError.isInstance(error),
  AbortedError: error => AbortedError.isInstance(error),
  DisposedError: error => DisposedError.isInstance(error),
  VocabMismatchError: error => VocabMismatchError.isInstance(error),
  UnsupportedCapabilityError: error => UnsupportedCapabilityError.isInstance(error),
  ConstraintDeadEndError: error => ConstraintDeadEndError.isInstance(error),
};

async function outcomeOf(
  run: () => Promise<unknown>,
): Promise<{ error?: unknown; value?: unknown }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error };
  }
}

/** Runs the CLI in this process; returns its exit code and what it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    const code = await runCli(['node', 'decodekit', ...args], {
      writeErr: text => void (stderr += text),
    });
    return { code, stderr };
  } finally {
    process.stdout.write = write;
  }
}

describe('bad inputs are typed DecodingErrors with actionable messages', () => {
  const mirror = process.env.DECODEKIT_MODELS ?? '../shared/models';
  const work = mkdtempSync(join(tmpdir(), 'decodekit-bad-'));
  let fixtures: BadInputFixtures;
  let model: LoadedModel;

  beforeAll(async () => {
    const cache = join(work, 'cache');
    const storiesFolder = await resolveModel('karpathy/tinyllamas/stories260K', {
      cacheDir: cache,
    });
    model = await createCpuBackend().load(storiesFolder);
    const tinyFolder = join(work, 'tiny');
    await writeModelFolder(tinyFolder, buildTinyModel({ seed: 1 }).files);
    const shortContextFolder = join(work, 'short-context');
    await writeModelFolder(
      shortContextFolder,
      buildTinyModel({ seed: 2, vocabSize: model.info.vocabSize, contextLength: 16 }).files,
    );
    // A compatible draft but for its context: the target's tokenizer and special tokens (checkDraftCompatibility).
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
      if (existsSync(join(storiesFolder, file)))
        copyFileSync(join(storiesFolder, file), join(shortContextFolder, file));
    fixtures = { work, cache, mirror, storiesFolder, model, tinyFolder, shortContextFolder };
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('the table has at least 40 cases with unique ids', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(BAD_INPUTS.map(row => row.id)).size).toBe(BAD_INPUTS.length);
    expect(BAD_INPUTS.every(row => row.api || row.cli)).toBe(true);
  });

  it('docs/errors.md is rendered from the table', () => {
    const file = resolve(__dirname, '../../../docs/errors.md');
    const expected = renderErrorsDoc();
    if (process.env.DECODEKIT_WRITE_ERRORS_DOC) writeFileSync(file, expected);
    expect(existsSync(file) ? readFileSync(file, 'utf8') : '(missing)').toBe(expected);
  });

  describe.each(BAD_INPUTS.filter(row => row.api))('API: $id ($input)', row => {
    it(`→ ${row.outcome}`, async () => {
      const { api } = row;
      assert(api, 'only rows with an API call are listed here');
      const { error, value } = await outcomeOf(() => api(fixtures));
      if (row.outcome === 'ok') {
        expect(error, String(error)).toBeUndefined();
        return;
      }
      if (row.outcome === 'warning') {
        expect(error, String(error)).toBeUndefined();
        const warnings = (value as DecodeEvent[]).filter(event => event.type === 'warning');
        expect(warnings).toHaveLength(1);
        if (row.message) expect((warnings[0] as { message: string }).message).toMatch(row.message);
        return;
      }
      expect(error, `resolved instead of throwing ${row.outcome}`).toBeDefined();
      expect(
        DecodingError.isInstance(error),
        `not a DecodingError: ${(error as Error)?.stack ?? String(error)}`,
      ).toBe(true);
      expect(
        isInstance[row.outcome](error),
        `expected ${row.outcome}, got ${(error as Error).name}: ${(error as Error).message}`,
      ).toBe(true);
      const message = (error as Error).message;
      expect(message).not.toMatch(/\n\s+at /); // no stack trace inside the message
      expect(message).not.toMatch(/onnxruntime_src|\.cc:\d+/); // nor ONNX Runtime's C++ source locations
      expect(message.length).toBeGreaterThan(20);
      if (row.message) expect(message).toMatch(row.message);
      if (row.argument) expect((error as InvalidArgumentError).argument).toBe(row.argument);
    });
  });

  describe.each(BAD_INPUTS.filter(row => row.cli))('CLI: $id ($input)', row => {
    it('exits 2 with one line on stderr and no stack', async () => {
      // Model folder rows build their broken folder in the API call; the CLI then loads the same folder.
      const { api, cli: cliArguments } = row;
      assert(cliArguments, 'only rows with a CLI call are listed here');
      if (api && (row.area === 'model folder' || row.area === 'tokenizer'))
        await outcomeOf(() => api(fixtures));
      const { code, stderr } = await cli(cliArguments(fixtures));
      expect(stderr).toMatch(/^decodekit: [^\n]+\n$/);
      expect(stderr).not.toMatch(/\bat .*:\d+:\d+/);
      expect(code, stderr).toBe(2);
      const expected = row.cliMessage ?? row.message;
      if (expected) expect(stderr).toMatch(expected);
      if (row.argument && !row.cliMessage)
        expect(stderr).toContain(
          row.argument.startsWith('--') ? row.argument : `"${row.argument}"`,
        );
    });
  });

  it('the CLI prints a warning event on stderr and still exits 0', async () => {
    let stderr = '';
    const writeErr = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (
      (stderr += chunk),
      true
    )) as typeof process.stderr.write;
    try {
      const prompt =
        'Once upon a time there was a little girl named Lily. She liked to play outside in the sun.';
      const { code } = await cli([
        'generate',
        '--model',
        fixtures.storiesFolder,
        '--max-tokens',
        '8',
        '--prompt',
        prompt,
        '--strategy',
        'draft-model',
        '--draft-model',
        fixtures.shortContextFolder,
      ]);
      expect(code).toBe(0);
    } finally {
      process.stderr.write = writeErr;
    }
    expect(stderr.match(/^decodekit: warning: .*drafts nothing.*$/gm)).toHaveLength(1);
  });

  it.runIf(existsSync(resolve(__dirname, '../dist/bin.js')))(
    'the built bin exits 2 with one line on stderr',
    async () => {
      const bin = resolve(__dirname, '../dist/bin.js');
      const error = await promisify(execFile)(process.execPath, [
        bin,
        'generate',
        '--model',
        join(work, 'no-such-folder'),
      ]).then(
        () => undefined,
        (failure: { code: number; stderr: string }) => failure,
      );
      expect(error?.code).toBe(2);
      expect(error?.stderr).toMatch(/^decodekit: Model "[^\n]*no-such-folder[^\n]*\n$/);
    },
  );
});
