/**
 * `decodekit generate --model org/name --dtype q4` end to end through a local hub (127.0.0.1): the repo is
 * stories260K as our converter writes it, with its graph published as onnx/model_q4.onnx and unrelated bytes
 * under every other dtype name, so only the right pick can load and generate.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { InvalidArgumentError, ModelDownloadError, ModelNotFoundError } from '@decodekit/core';
import { resolveModel } from '@decodekit/models/node';
import { type LocalHub, startLocalHub } from '@decodekit/models/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

function readTree(folder: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else files[relative(folder, path).split(sep).join('/')] = new Uint8Array(readFileSync(path));
    }
  };
  visit(folder);
  return files;
}

const WRONG_DTYPES = [
  'model.onnx',
  'model_fp16.onnx',
  'model_quantized.onnx',
  'model_int8.onnx',
  'model_uint8.onnx',
  'model_q4f16.onnx',
  'model_bnb4.onnx',
];
const GENERATE = [
  'generate',
  '--prompt',
  'Once upon a time',
  '--max-tokens',
  '24',
  '--temperature',
  '0',
  '--format',
  'json',
];

describe('decodekit generate resolves hub ids through a local hub', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-cli-hub-'));
  const saved = {
    HF_ENDPOINT: process.env.HF_ENDPOINT,
    DECODEKIT_CACHE: process.env.DECODEKIT_CACHE,
    HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE,
    HF_TOKEN: process.env.HF_TOKEN,
  };
  let hub: LocalHub;
  let converted: string;

  beforeAll(async () => {
    converted = await resolveModel('karpathy/tinyllamas/stories260K', {
      cacheDir: join(work, 'convert'),
      offline: true,
    });
    const { 'onnx/model.onnx': graph, ...rest } = readTree(converted);
    const files: Record<string, Uint8Array | string> = { ...rest, 'onnx/model_q4.onnx': graph };
    for (const name of WRONG_DTYPES) files[`onnx/${name}`] = `not the q4 graph: ${name}`;
    hub = await startLocalHub({
      'test-org/stories260K-onnx': { files },
      'test-org/gated-stories': { files, token: 'hf_cli_token' },
    });
    process.env.HF_ENDPOINT = hub.endpoint;
    process.env.DECODEKIT_CACHE = join(work, 'cache');
    delete process.env.HF_HUB_OFFLINE;
    delete process.env.HF_TOKEN;
  });
  afterAll(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await hub?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('--dtype q4 downloads only model_q4.onnx and generates what the converted folder generates', async () => {
    const expected = JSON.parse(await run([...GENERATE, '--model', converted])) as {
      completion: string;
    };
    const out = JSON.parse(
      await run([...GENERATE, '--model', 'test-org/stories260K-onnx', '--dtype', 'q4']),
    ) as { completion: string };
    expect(out.completion).toBe(expected.completion);
    expect(out.completion.length).toBeGreaterThan(20);
    const graphs = hub.requests
      .filter(request => /\/resolve\/[0-9a-f]{40}\/onnx\//.test(request.path))
      .map(request => request.path.split('/').pop());
    expect(graphs).toEqual(['model_q4.onnx']);

    // Cached: the same command works offline with no request.
    hub.requests.length = 0;
    const offline = JSON.parse(
      await run([
        ...GENERATE,
        '--model',
        'test-org/stories260K-onnx',
        '--dtype',
        'q4',
        '--offline',
      ]),
    ) as { completion: string };
    expect(offline.completion).toBe(expected.completion);
    expect(hub.requests).toEqual([]);

    // `models pull` prints the folder pinned to the commit; `models list` shows it with its dtype.
    const commit = hub.commitOf('test-org/stories260K-onnx');
    const folder = join(
      work,
      'cache',
      'hub',
      'test-org',
      'stories260K-onnx',
      'snapshots',
      commit,
      'q4',
    );
    expect(
      await run(['models', 'pull', 'test-org/stories260K-onnx', '--dtype', 'q4', '--offline']),
    ).toBe(`${folder}\n`);
    expect(await run(['models', 'list'])).toContain(
      `"ref":"test-org/stories260K-onnx@${commit}","path":${JSON.stringify(folder)},"graph":"q4"`,
    );
  });

  it('a gated repo needs HF_TOKEN', async () => {
    await expect(
      run([...GENERATE, '--model', 'test-org/gated-stories', '--dtype', 'q4']),
    ).rejects.toSatisfy(
      error =>
        ModelDownloadError.isInstance(error) &&
        error.reason === 'unauthorized' &&
        error.message.includes('HF_TOKEN'),
    );
    process.env.HF_TOKEN = 'hf_cli_token';
    try {
      const out = JSON.parse(
        await run([...GENERATE, '--model', 'test-org/gated-stories', '--dtype', 'q4']),
      ) as { completion: string };
      expect(out.completion.length).toBeGreaterThan(20);
    } finally {
      delete process.env.HF_TOKEN;
    }
  });

  it('a dtype the repo lacks, offline, or an unknown dtype are typed errors that say what to do', async () => {
    await expect(
      run([...GENERATE, '--model', 'test-org/stories260K-onnx', '--dtype', 'q3']),
    ).rejects.toSatisfy(
      error =>
        InvalidArgumentError.isInstance(error) &&
        /unknown dtype "q3"/.test((error as Error).message),
    );
    await expect(
      run([
        ...GENERATE,
        '--model',
        'test-org/stories260K-onnx@main',
        '--dtype',
        'fp16',
        '--offline',
      ]),
    ).rejects.toSatisfy(
      error =>
        ModelNotFoundError.isInstance(error) &&
        (error as Error).message.includes('skipped: offline'),
    );
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await expect(run([...GENERATE, '--model', 'test-org/other'])).rejects.toSatisfy(error =>
        ModelNotFoundError.isInstance(error),
      );
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    expect(hub.requests.filter(request => request.path.includes('test-org/other'))).toEqual([]);
  });
});
