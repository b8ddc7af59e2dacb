import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import { ModelFormatError, ModelNotFoundError } from '@decodekit/core';
import { KNOWN_MODELS } from './known-models.js';
import { readModelFiles, validateModelFolder } from './model-folder.js';
import { MODELS_ROOT } from './ort-test-utils.js';
import { listModels, resolveModel } from './resolve-model.js';
import { buildTinyModel } from './tiny-model.js';
import { writeModelFolder } from './write-model-folder.js';

const root = mkdtempSync(join(tmpdir(), 'decodekit-resolve-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let cache: string;
let counter = 0;
beforeEach(() => {
  cache = join(root, `cache-${counter++}`);
});

const STORIES = 'karpathy/tinyllamas/stories260K';
const stories = KNOWN_MODELS[0];

/** A fake fetch serving the mirror's files by URL, counting requests. */
function fakeFetch(overrides: Record<string, Uint8Array | number> = {}) {
  const calls: string[] = [];
  const byUrl = new Map<string, string>();
  for (const model of KNOWN_MODELS) {
    byUrl.set(model.checkpoint.url, join(MODELS_ROOT, model.mirrorPath, model.checkpoint.file));
    byUrl.set(model.tokenizer.url, join(MODELS_ROOT, model.mirrorPath, model.tokenizer.file));
  }
  const fileFor = (url: string): string => {
    const file = byUrl.get(url);
    if (file === undefined) throw new Error(`fakeFetch serves no file at ${url}`);
    return file;
  };
  const fetch = (async (input: string | URL | Request) => {
    const url = String(input);
    calls.push(url);
    const override = overrides[url];
    if (typeof override === 'number')
      return new Response('nope', { status: override, statusText: 'Not Found' });
    const body = new Uint8Array(override ?? readFileSync(fileFor(url)));
    return new Response(body, { headers: { 'content-length': String(body.byteLength) } });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

/** A fetch for a machine without network (as CI is): every request fails. */
const unreachable = (async () => {
  throw new TypeError('fetch failed');
}) as unknown as typeof globalThis.fetch;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    error => error as Error,
  );
}

describe('resolveModel: explicit folders', () => {
  test('returns a model folder as is', async () => {
    const dir = await writeModelFolder(join(root, 'tiny'), buildTinyModel({ seed: 1 }).files, {
      overwrite: true,
    });
    expect(await resolveModel(dir, { cacheDir: cache, mirrors: [] })).toBe(dir);
    expect(existsSync(cache)).toBe(false);
  });

  test('converts a llama2.c folder once into the cache, keyed by content', async () => {
    const source = join(MODELS_ROOT, STORIES);
    const first = await resolveModel(source, { cacheDir: cache, mirrors: [] });
    expect(first.startsWith(join(cache, 'converted', 'stories260K-'))).toBe(true);
    expect(readdirSync(source).sort()).toEqual(['stories260K.bin', 'tok512.bin', 'tok512.model']); // nothing written beside
    const second = await resolveModel(source, { cacheDir: cache, mirrors: [] });
    expect(second).toBe(first);
    const plain = await resolveModel(source, { cacheDir: cache, mirrors: [], plain: true });
    expect(plain).not.toBe(first);
    expect(JSON.parse(readFileSync(join(plain, 'config.json'), 'utf8')).decodekit.graph).toBe(
      'plain',
    );
  });

  test('a missing folder path is a ModelNotFoundError', async () => {
    const error = await rejection(
      resolveModel(join(root, 'does-not-exist'), { cacheDir: cache, mirrors: [] }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain('does-not-exist');
  });

  test('a folder with neither model nor checkpoint is a ModelFormatError', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(
      ModelFormatError.isInstance(
        await rejection(resolveModel(empty, { cacheDir: cache, mirrors: [] })),
      ),
    ).toBe(true);
  });

  test('a corrupt onnx or config is a ModelFormatError', async () => {
    const files = buildTinyModel({ seed: 2 }).files;
    const onnx = files['onnx/model.onnx'] as Uint8Array;
    const truncated = await writeModelFolder(
      join(root, 'truncated'),
      { ...files, 'onnx/model.onnx': onnx.subarray(0, onnx.length - 100) },
      { overwrite: true },
    );
    const error = await rejection(resolveModel(truncated, { cacheDir: cache, mirrors: [] }));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('model.onnx');
    const garbage = await writeModelFolder(
      join(root, 'garbage'),
      { ...files, 'onnx/model.onnx': 'hello, not onnx' },
      { overwrite: true },
    );
    expect(
      ModelFormatError.isInstance(
        await rejection(resolveModel(garbage, { cacheDir: cache, mirrors: [] })),
      ),
    ).toBe(true);
    const badJson = await writeModelFolder(
      join(root, 'bad-json'),
      { ...files, 'config.json': '{ nope' },
      { overwrite: true },
    );
    const jsonError = await rejection(resolveModel(badJson, { cacheDir: cache, mirrors: [] }));
    expect(ModelFormatError.isInstance(jsonError)).toBe(true);
    expect(jsonError.message).toContain('config.json');
  });

  test('a config vocab_size smaller than the tokenizer is a ModelFormatError', async () => {
    const files = buildTinyModel({ seed: 3 }).files;
    const config = { ...JSON.parse(files['config.json'] as string), vocab_size: 20 };
    const dir = await writeModelFolder(
      join(root, 'mismatch'),
      { ...files, 'config.json': JSON.stringify(config) },
      { overwrite: true },
    );
    const error = await rejection(validateModelFolder(dir));
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('32 ids but config.json has vocab_size 20');
  });
});

describe('resolveModel: hub ids', () => {
  test('converts from a mirror into the cache, then uses the cache', async () => {
    const dir = await resolveModel(STORIES, {
      cacheDir: cache,
      mirrors: [MODELS_ROOT],
      offline: true,
    });
    expect(dir).toBe(join(cache, 'models', 'karpathy', 'tinyllamas', 'stories260K'));
    const files = await readModelFiles(dir);
    expect(files.config.vocab_size).toBe(512);
    expect(files.generationConfig?.eos_token_id).toEqual([1, 2]);
    expect(files.onnx.byteLength).toBeGreaterThan(1e6);
    // Second time: found in the cache even without mirrors.
    expect(await resolveModel('stories260K', { cacheDir: cache, mirrors: [], offline: true })).toBe(
      dir,
    );
    expect((await listModels({ cacheDir: cache })).map(model => [model.ref, model.graph])).toEqual([
      [STORIES, 'extended'],
    ]);
  });

  test('llama2xs resolves through its mirror path', async () => {
    const dir = await resolveModel('llama2xs', {
      cacheDir: cache,
      mirrors: [join(root, 'no-mirror'), MODELS_ROOT],
      offline: true,
    });
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).max_position_embeddings).toBe(
      256,
    );
  });

  test('a mirror file with the wrong sha256 is a ModelFormatError', async () => {
    const mirror = join(root, 'bad-mirror');
    cpSync(join(MODELS_ROOT, STORIES), join(mirror, STORIES), { recursive: true });
    writeFileSync(join(mirror, STORIES, 'tok512.bin'), 'tampered');
    const error = await rejection(
      resolveModel(STORIES, { cacheDir: cache, mirrors: [mirror], offline: true }),
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain(stories.tokenizer.sha256);
  });

  test('offline and not found lists every place looked at', async () => {
    const error = await rejection(
      resolveModel(STORIES, {
        cacheDir: cache,
        mirrors: [join(root, 'm1'), join(root, 'm2')],
        offline: true,
      }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    const { searched } = error as unknown as { searched: string[] };
    expect(searched).toEqual([
      expect.stringContaining('folder:'),
      `cache: ${join(cache, 'models', 'karpathy', 'tinyllamas', 'stories260K')}`,
      `mirror: ${join(root, 'm1', STORIES)}`,
      `mirror: ${join(root, 'm2', STORIES)}`,
      `download: ${stories.checkpoint.url} (skipped: offline)`,
    ]);
    expect(error.message).toContain('Offline');
  });

  test('an unknown id is a ModelNotFoundError naming the known ids', async () => {
    const error = await rejection(
      resolveModel('someone/unknown-model', {
        cacheDir: cache,
        mirrors: [MODELS_ROOT],
        fetch: unreachable,
      }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain('karpathy/tinyllamas/stories260K');
    expect(error.message).toContain(join(MODELS_ROOT, 'someone', 'unknown-model'));
  });

  test('an unknown id found in a mirror as a model folder is used in place', async () => {
    const mirror = join(root, 'folder-mirror');
    const dir = await writeModelFolder(
      join(mirror, 'me', 'tiny'),
      buildTinyModel({ seed: 4 }).files,
      { overwrite: true },
    );
    expect(await resolveModel('me/tiny', { cacheDir: cache, mirrors: [mirror] })).toBe(dir);
  });
});

describe('resolveModel: downloads', () => {
  test('downloads the pinned files with progress, verifies and converts them', async () => {
    const { fetch, calls } = fakeFetch();
    const progress: Array<[string, number, number | undefined, boolean]> = [];
    const dir = await resolveModel(STORIES, {
      cacheDir: cache,
      mirrors: [],
      fetch,
      onProgress: p => progress.push([p.file, p.received, p.total, p.done]),
    });
    expect(calls).toEqual([stories.checkpoint.url, stories.tokenizer.url]);
    expect(calls[0]).toContain(
      '/resolve/0bd21da7698eaf29a0d7de3992de8a46ef624add/stories260K/stories260K.bin',
    );
    expect(progress.at(-1)).toEqual(['tok512.bin', 6227, 6227, true]);
    expect(progress.some(([file, , , done]) => file === 'stories260K.bin' && done)).toBe(true);
    expect(readdirSync(join(cache, 'downloads', ...STORIES.split('/'))).sort()).toEqual([
      'stories260K.bin',
      'tok512.bin',
    ]);
    expect((await readModelFiles(dir)).config.hidden_size).toBe(64);
    // The cache answers next time: no more requests.
    await resolveModel(STORIES, { cacheDir: cache, mirrors: [], fetch });
    expect(calls).toHaveLength(2);
  });

  test('a sha256 mismatch is a ModelFormatError and leaves no file', async () => {
    const { fetch } = fakeFetch({ [stories.checkpoint.url]: new Uint8Array(1000) });
    const error = await rejection(
      resolveModel(STORIES, { cacheDir: cache, mirrors: [], fetch, onProgress: () => {} }),
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('sha256 mismatch');
    expect(error.message).toContain(stories.checkpoint.sha256);
    const downloads = join(cache, 'downloads', ...STORIES.split('/'));
    expect(existsSync(downloads) ? readdirSync(downloads) : []).toEqual([]);
  });

  test('an HTTP error is a ModelNotFoundError that names the URL', async () => {
    const { fetch } = fakeFetch({ [stories.checkpoint.url]: 404 });
    const error = await rejection(
      resolveModel(STORIES, { cacheDir: cache, mirrors: [], fetch, onProgress: () => {} }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain(`${stories.checkpoint.url} (failed: HTTP 404`);
  });

  test('a network error is a ModelNotFoundError', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof globalThis.fetch;
    const error = await rejection(
      resolveModel('llama2xs', { cacheDir: cache, mirrors: [], fetch, onProgress: () => {} }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain(
      'raw.githubusercontent.com/saltyduckegg/llama2xs.c/31ec9eb758c41319858bbba19e5a0202e155b87f',
    );
    expect(error.message).toContain('fetch failed');
  });
});

describe('readModelFiles', () => {
  test('reads a model folder, optional files included', async () => {
    const dir = await writeModelFolder(join(root, 'read'), buildTinyModel({ seed: 5 }).files, {
      overwrite: true,
    });
    const files = await readModelFiles(dir);
    expect(files.config.model_type).toBe('llama');
    expect(files.tokenizerConfig?.bos_token).toBe('<s>');
    expect(files.onnx).toBeInstanceOf(Uint8Array);
    rmSync(join(dir, 'generation_config.json'));
    expect((await readModelFiles(dir)).generationConfig).toBeUndefined();
    rmSync(join(dir, 'tokenizer.json'));
    expect(ModelFormatError.isInstance(await rejection(readModelFiles(dir)))).toBe(true);
    expect(
      ModelNotFoundError.isInstance(await rejection(readModelFiles(join(root, 'nowhere')))),
    ).toBe(true);
  });
});

describe('resolveModel: a llama2.c folder naming a known model’s tokenizer (llama2c.json)', () => {
  const checkpointFolder = (manifest: string | undefined) => {
    const dir = join(root, `draft-${counter++}`);
    mkdirSync(dir, { recursive: true });
    cpSync(join(MODELS_ROOT, 'llama2xs', 'model.bin'), join(dir, 'model.bin'));
    if (manifest !== undefined) writeFileSync(join(dir, 'llama2c.json'), manifest);
    return dir;
  };

  test('converts the checkpoint with the tokenizer found in a mirror, offline', async () => {
    const dir = checkpointFolder(JSON.stringify({ tokenizer: STORIES }));
    const folder = await resolveModel(dir, {
      cacheDir: cache,
      mirrors: [MODELS_ROOT],
      offline: true,
    });
    const files = await readModelFiles(await validateModelFolder(folder));
    expect(files.config.vocab_size).toBe(512);
    expect(JSON.stringify(files.tokenizer)).toContain('<s>');
    expect(readdirSync(dir).sort()).toEqual(['llama2c.json', 'model.bin']); // nothing written beside
    // The second resolution reuses the conversion.
    expect(
      await resolveModel(dir, { cacheDir: cache, mirrors: [MODELS_ROOT], offline: true }),
    ).toBe(folder);
  });

  test('downloads the named tokenizer (pinned, sha256-checked) when no mirror has it', async () => {
    const dir = checkpointFolder(JSON.stringify({ tokenizer: 'stories260K' }));
    const { fetch, calls } = fakeFetch();
    await resolveModel(dir, { cacheDir: cache, mirrors: [], fetch, onProgress: () => {} });
    expect(calls).toEqual([stories.tokenizer.url]);
  });

  test.each([
    { manifest: JSON.stringify({ tokenizer: 'nobody/unknown' }), message: /not a known model/ },
    { manifest: '{oops', message: /not valid JSON/ },
  ])(
    'a manifest $manifest is a ModelFormatError that says what to do',
    async ({ manifest, message }) => {
      const error = await rejection(
        resolveModel(checkpointFolder(manifest), {
          cacheDir: cache,
          mirrors: [MODELS_ROOT],
          offline: true,
        }),
      );
      expect(ModelFormatError.isInstance(error)).toBe(true);
      expect(error.message).toMatch(message);
    },
  );

  test('offline without the tokenizer anywhere is a ModelNotFoundError naming where it looked', async () => {
    const dir = checkpointFolder(JSON.stringify({ tokenizer: STORIES }));
    const error = await rejection(
      resolveModel(dir, { cacheDir: cache, mirrors: [], offline: true }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain('offline');
  });

  test('without a manifest the folder is still refused, naming both layouts', async () => {
    const error = await rejection(
      resolveModel(checkpointFolder(undefined), {
        cacheDir: cache,
        mirrors: [MODELS_ROOT],
        offline: true,
      }),
    );
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect(error.message).toContain('llama2c.json');
  });
});
