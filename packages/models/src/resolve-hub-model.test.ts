/** Hub resolution against a real HTTP server on 127.0.0.1 (startLocalHub): the protocol and every fault. */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, ModelDownloadError, ModelNotFoundError } from '@decodekit/core';
import type { DownloadProgress } from './download-file.js';
import { type LocalHub, startLocalHub } from './local-hub.js';
import {
  findCachedHubModel,
  folderForDtype,
  type HubDownloadProgress,
  resolveHubModel,
} from './resolve-hub-model.js';
import { hubOptionsFromEnv, listModels, resolveModel } from './resolve-model.js';
import { seededRandom } from './seeded-random.js';

/** The LFS sha256 of `path` in a hub listing. */
function lfsOid(
  listing: { siblings: { rfilename: string; lfs?: { sha256: string } }[] },
  path: string,
): string {
  const oid = listing.siblings.find(sibling => sibling.rfilename === path)?.lfs?.sha256;
  assert(oid !== undefined, `the listing has an LFS file at ${path}`);
  return oid;
}

function randomBytes(seed: number, length: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(random.next() * 256));
}

const GRAPHS = {
  'onnx/model.onnx': randomBytes(1, 30_000),
  'onnx/model_fp16.onnx': randomBytes(2, 20_000),
  'onnx/model_fp16.onnx.data': randomBytes(3, 40_000),
  'onnx/model_q4.onnx': randomBytes(4, 12_000),
  'onnx/model_q4.onnx_data': randomBytes(5, 60_000),
  'onnx/model_q4.onnx_data_1': randomBytes(6, 25_000),
};
const METADATA = {
  'config.json': JSON.stringify({ model_type: 'llama', vocab_size: 32 }),
  'generation_config.json': JSON.stringify({ eos_token_id: 2 }),
  'tokenizer.json': JSON.stringify({ model: { vocab: { a: 0 } } }),
  'tokenizer_config.json': JSON.stringify({ bos_token: '<s>' }),
  'README.md': '# a test repo\n',
};
const REPO = { ...METADATA, ...GRAPHS };
const Q4_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/model_q4.onnx',
  'onnx/model_q4.onnx_data',
  'onnx/model_q4.onnx_data_1',
];
const TOKEN = 'hf_right_token';
/** A split-pair export (optimum's decoder_model + decoder_with_past_model) in fp32 and fp16. */
const PAIR_GRAPHS = {
  'onnx/decoder_model.onnx': randomBytes(11, 9_000),
  'onnx/decoder_with_past_model.onnx': randomBytes(12, 9_000),
  'onnx/decoder_model_fp16.onnx': randomBytes(13, 7_000),
  'onnx/decoder_model_fp16.onnx_data': randomBytes(14, 11_000),
  'onnx/decoder_with_past_model_fp16.onnx': randomBytes(15, 7_000),
};

/** The bytes the hub serves for a path of REPO. */
function contentOf(path: string): Uint8Array {
  const content = REPO[path as keyof typeof REPO];
  return typeof content === 'string' ? new TextEncoder().encode(content) : content;
}
/** ../shared/fixtures, beside the DECODEKIT_MODELS mirror. */
const FIXTURES = resolve(
  process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models',
  '..',
  'fixtures',
);

let hub: LocalHub;
const root = mkdtempSync(join(tmpdir(), 'decodekit-hub-'));
let cacheDir: string;
let counter = 0;

beforeAll(async () => {
  hub = await startLocalHub({
    'test-org/tiny': { files: REPO, branches: ['v1'] },
    'test-org/gated': { files: REPO, token: TOKEN },
    'test-org/bare': { files: REPO, listBlobs: false },
    'test-org/pair': { files: { ...METADATA, ...PAIR_GRAPHS } },
    'test-org/genai': {
      files: join(FIXTURES, 'hf-exports/onnxruntime-genai-tiny-random-llama-fp16'),
    },
  });
});
afterAll(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = join(root, `cache-${counter++}`);
  hub.requests.length = 0;
  hub.faults.length = 0;
});
afterEach(() => {
  if (existsSync(cacheDir)) chmodSync(cacheDir, 0o755);
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    error => error as Error,
  );
}

/** Every file under the cache, relative, sorted. */
function cacheFiles(): string[] {
  const files: string[] = [];
  const visit = (dir: string, prefix: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) visit(join(dir, entry.name), `${prefix}${entry.name}/`);
      else files.push(`${prefix}${entry.name}`);
    }
  };
  visit(cacheDir, '');
  return files.sort();
}

/** No half file anywhere a model is read from: only verified blobs, resumable parts and complete folders. */
function expectNoHalfFile() {
  for (const file of cacheFiles()) {
    if (file.includes('/snapshots/'))
      throw new Error(`a model folder exists after a failure: ${file}`);
    if (file.includes('/blobs/') && !file.endsWith('.incomplete'))
      expect(file).toMatch(/\/blobs\/[0-9a-f]{40,64}$/);
  }
}

/** Range headers of the requests for file bytes (LFS content URLs, after the resolve redirect). */
const contentRanges = () =>
  hub.requests
    .filter(request => request.range && request.path.startsWith('/__lfs/'))
    .map(request => request.range);
const options = () => ({ cacheDir, endpoint: hub.endpoint });
const fileRequests = () =>
  hub.requests
    .filter(request => request.path.includes('/resolve/'))
    .map(request => request.path.replace(/^.*\/resolve\/[0-9a-f]{40}\//, ''));

describe('resolveHubModel against a local hub', () => {
  test('resolves a branch to a commit, picks the dtype graph with its shards, verifies and caches', async () => {
    const progress: HubDownloadProgress[] = [];
    const model = await resolveHubModel('test-org/tiny', {
      ...options(),
      dtype: 'q4',
      onProgress: p => progress.push(p),
    });
    const commit = hub.commitOf('test-org/tiny');
    expect(model).toMatchObject({
      id: 'test-org/tiny',
      revision: 'main',
      commit,
      layout: 'transformers.js',
      dtype: 'q4',
      graph: 'onnx/model_q4.onnx',
    });
    expect([...model.files].sort()).toEqual([...Q4_FILES].sort());
    expect(fileRequests().sort()).toEqual([...Q4_FILES].sort()); // nothing else downloaded
    expect(hub.requests[0].path).toBe('/api/models/test-org/tiny/revision/main?blobs=true');
    for (const path of ['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data_1', 'tokenizer.json']) {
      expect(new Uint8Array(readFileSync(join(model.folder, path)))).toEqual(contentOf(path));
    }
    // The picked graph is also at onnx/model.onnx, beside its external data.
    expect(new Uint8Array(readFileSync(join(model.folder, 'onnx/model.onnx')))).toEqual(
      GRAPHS['onnx/model_q4.onnx'],
    );
    expect(readFileSync(join(cacheDir, 'hub/test-org/tiny/refs/main'), 'utf8').trim()).toBe(commit);
    // One progress stream for the whole model, ending at its full size.
    const total = Q4_FILES.reduce((sum, path) => sum + contentOf(path).byteLength, 0);
    expect(progress.every(p => p.total === total && p.ref === 'test-org/tiny')).toBe(true);
    expect(progress.at(-1)).toMatchObject({ received: total, done: true });
    const received = progress.map(p => p.received);
    expect(received).toEqual(received.toSorted((a, b) => a - b));

    // Next time the cache answers without a request, offline too.
    hub.requests.length = 0;
    expect(
      (await resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4', offline: true })).folder,
    ).toBe(model.folder);
    expect(hub.requests).toEqual([]);
    // Another dtype reuses the shared blobs and fetches only its graph.
    const fp16 = await resolveHubModel('test-org/tiny', { ...options(), dtype: 'fp16' });
    expect(fileRequests().sort()).toEqual(['onnx/model_fp16.onnx', 'onnx/model_fp16.onnx.data']);
    expect(new Uint8Array(readFileSync(join(fp16.folder, 'onnx/model.onnx')))).toEqual(
      GRAPHS['onnx/model_fp16.onnx'],
    );
  });

  test('a branch is resolved once: the cache keeps its commit until a new revision is asked for', async () => {
    const first = await resolveHubModel('test-org/tiny@v1', options());
    const oldCommit = hub.commitOf('test-org/tiny');
    hub.update('test-org/tiny', {
      files: { ...REPO, 'onnx/model.onnx': randomBytes(9, 30_000) },
      branches: ['v1'],
    });
    const newCommit = hub.commitOf('test-org/tiny');
    expect(newCommit).not.toBe(oldCommit);
    hub.requests.length = 0;
    expect((await resolveHubModel('test-org/tiny@v1', options())).commit).toBe(oldCommit);
    expect(hub.requests).toEqual([]);
    const pinned = await resolveHubModel(`test-org/tiny@${newCommit}`, options());
    expect(pinned.commit).toBe(newCommit);
    expect(new Uint8Array(readFileSync(join(pinned.folder, 'onnx/model.onnx')))).toEqual(
      randomBytes(9, 30_000),
    );
    expect(new Uint8Array(readFileSync(join(first.folder, 'onnx/model.onnx')))).toEqual(
      GRAPHS['onnx/model.onnx'],
    );
    hub.update('test-org/tiny', { files: REPO, branches: ['v1'] });
  });

  test('a hub that lists no blobs: digests and sizes come from X-Linked-Etag, X-Linked-Size and ETag', async () => {
    const model = await resolveHubModel('test-org/bare', { ...options(), dtype: 'q4' });
    expect(new Uint8Array(readFileSync(join(model.folder, 'onnx/model_q4.onnx_data')))).toEqual(
      GRAPHS['onnx/model_q4.onnx_data'],
    );
    expect(
      readdirSync(join(cacheDir, 'hub/test-org/bare/blobs')).filter(name => name.length === 40),
    ).toHaveLength(4); // git blob ids of the JSON files
    cacheDir = join(root, `cache-${counter++}`);
    hub.faults.push(
      { path: 'onnx/model_q4.onnx', kind: 'corrupt', times: 1 },
      { path: 'tokenizer.json', kind: 'corrupt', times: 1 },
    );
    const small = await rejection(resolveHubModel('test-org/bare', { ...options(), dtype: 'q4' }));
    expect(small).toMatchObject({ reason: 'integrity', file: 'tokenizer.json' });
    const large = await rejection(resolveHubModel('test-org/bare', { ...options(), dtype: 'q4' }));
    expect(large).toMatchObject({ reason: 'integrity', file: 'onnx/model_q4.onnx' });
    hub.faults.length = 0;
    hub.faults.push({ path: 'onnx/model_q4.onnx_data', kind: 'truncate', times: 1 });
    const short = await rejection(
      resolveHubModel('test-org/bare', { ...options(), dtype: 'q4', retries: 0 }),
    );
    expect(short).toMatchObject({ reason: 'incomplete', file: 'onnx/model_q4.onnx_data' });
  });

  test('two resolutions at once share the cache: each file is downloaded once', async () => {
    const [first, second] = await Promise.all([
      resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }),
      resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }),
    ]);
    expect(second.folder).toBe(first.folder);
    expect(fileRequests().sort()).toEqual([...Q4_FILES].sort());
    expect(new Uint8Array(readFileSync(join(first.folder, 'onnx/model_q4.onnx_data')))).toEqual(
      GRAPHS['onnx/model_q4.onnx_data'],
    );
    expect(
      cacheFiles().filter(file => file.endsWith('.incomplete') || file.includes('.lock')),
    ).toEqual([]);
  });

  test('a split pair of another dtype is also placed where loaders look for a pair (download and mirror)', async () => {
    const expectPair = (folder: string, first: string, withPast: string) => {
      expect(new Uint8Array(readFileSync(join(folder, 'onnx/decoder_model.onnx')))).toEqual(
        PAIR_GRAPHS[first as keyof typeof PAIR_GRAPHS],
      );
      expect(
        new Uint8Array(readFileSync(join(folder, 'onnx/decoder_with_past_model.onnx'))),
      ).toEqual(PAIR_GRAPHS[withPast as keyof typeof PAIR_GRAPHS]);
    };
    const fp16 = await resolveHubModel('test-org/pair', { ...options(), dtype: 'fp16' });
    expect(fp16.graph).toBe('onnx/decoder_model_fp16.onnx');
    // The fp16 pair at the names loaders read: never the fp32 pair, which was not downloaded.
    expectPair(
      fp16.folder,
      'onnx/decoder_model_fp16.onnx',
      'onnx/decoder_with_past_model_fp16.onnx',
    );
    expect(existsSync(join(fp16.folder, 'onnx/decoder_model_fp16.onnx_data'))).toBe(true);
    expect(fileRequests()).not.toContain('onnx/decoder_model.onnx');
    const fp32 = await resolveHubModel('test-org/pair', { ...options(), dtype: 'fp32' });
    expectPair(fp32.folder, 'onnx/decoder_model.onnx', 'onnx/decoder_with_past_model.onnx');

    // A mirror holding both pairs: fp32 is the mirror folder itself, fp16 a view with its own pair in place.
    const mirror = join(root, 'pair-mirror', 'test-org', 'pair');
    for (const [path, content] of Object.entries({ ...METADATA, ...PAIR_GRAPHS })) {
      mkdirSync(dirname(join(mirror, path)), { recursive: true });
      writeFileSync(join(mirror, path), content);
    }
    expect(await folderForDtype('test-org/pair', mirror, { cacheDir, dtype: 'fp32' })).toBe(
      join(mirror, ''),
    );
    const view = await folderForDtype('test-org/pair', mirror, { cacheDir, dtype: 'fp16' });
    assert(view !== undefined, 'the mirror has an fp16 pair');
    expect(view.startsWith(join(cacheDir, 'views'))).toBe(true);
    expectPair(view, 'onnx/decoder_model_fp16.onnx', 'onnx/decoder_with_past_model_fp16.onnx');
  });

  test('an onnxruntime-genai folder downloads flat, as published', async () => {
    const model = await resolveHubModel('test-org/genai', options());
    expect(model.layout).toBe('genai');
    expect(model.graph).toBe('model.onnx');
    expect(readdirSync(model.folder).sort()).toEqual([
      '.decodekit-hub.json',
      'genai_config.json',
      'model.onnx',
      'model.onnx.data',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  test('offline and not cached names every place looked at', async () => {
    const error = await rejection(
      resolveModel('test-org/tiny', {
        ...options(),
        mirrors: [join(root, 'mirror')],
        offline: true,
        dtype: 'q4',
      }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    const { searched } = error as unknown as { searched: string[] };
    expect(searched).toEqual([
      expect.stringContaining('folder:'),
      `cache: ${join(cacheDir, 'models', 'test-org', 'tiny')}`,
      `mirror: ${join(root, 'mirror', 'test-org', 'tiny')}`,
      `cache: ${join(cacheDir, 'hub', 'test-org', 'tiny', 'snapshots', '<main>', 'q4')}`,
      `hub: ${hub.endpoint}/test-org/tiny (skipped: offline)`,
    ]);
    expect(error.message).toContain('HF_HUB_OFFLINE');
    expect(hub.requests).toEqual([]);
  });

  test('resolveModel: a hub id with a dtype, from the hub, then listed; a mirror laid out like the hub', async () => {
    const progress: DownloadProgress[] = [];
    const folder = await resolveModel('test-org/tiny', {
      ...options(),
      mirrors: [],
      dtype: 'q4',
      onProgress: p => progress.push(p),
    });
    expect(new Set(progress.map(p => p.model))).toEqual(new Set(['test-org/tiny']));
    const last = progress.at(-1);
    assert(last, 'progress was reported');
    expect(last).toMatchObject({ done: true, received: last.total });
    expect(last.total).toBeGreaterThan(97_000);
    expect(folder).toBe(
      join(cacheDir, 'hub/test-org/tiny/snapshots', hub.commitOf('test-org/tiny'), 'q4'),
    );
    expect(
      (await listModels({ cacheDir })).map(model => [model.ref, model.graph, model.source]),
    ).toEqual([[`test-org/tiny@${hub.commitOf('test-org/tiny')}`, 'q4', 'onnx/model_q4.onnx']]);
    // A read-only mirror repeating the repo: fp32 is used in place, q4 through links (or copies) in the cache.
    const mirror = join(root, 'hub-mirror');
    for (const [path, content] of Object.entries(REPO)) {
      mkdirSync(dirname(join(mirror, 'test-org/tiny', path)), { recursive: true });
      writeFileSync(join(mirror, 'test-org/tiny', path), content);
    }
    hub.requests.length = 0;
    const other = join(root, `cache-${counter++}`);
    // fp32 is the mirror folder itself, checked like any model folder (these graphs are random bytes).
    const fp32 = await rejection(
      resolveModel('test-org/tiny', { cacheDir: other, mirrors: [mirror], offline: true }),
    );
    expect(fp32.message).toContain(join(mirror, 'test-org/tiny/onnx/model.onnx'));
    const q4 = await resolveModel('test-org/tiny', {
      cacheDir: other,
      mirrors: [mirror],
      offline: true,
      dtype: 'q4',
    });
    expect(q4.startsWith(join(other, 'views'))).toBe(true);
    expect(new Uint8Array(readFileSync(join(q4, 'onnx/model.onnx')))).toEqual(
      GRAPHS['onnx/model_q4.onnx'],
    );
    expect(existsSync(join(q4, 'onnx/model_q4.onnx_data_1'))).toBe(true);
    const missing = await rejection(
      resolveModel('test-org/tiny', {
        cacheDir: other,
        mirrors: [mirror],
        offline: true,
        dtype: 'bnb4',
      }),
    );
    expect(ModelNotFoundError.isInstance(missing)).toBe(true);
    expect(hub.requests).toEqual([]);
    // The same for a folder passed by path; a dtype it lacks names the ones it has.
    const local = await resolveModel(join(mirror, 'test-org/tiny'), {
      cacheDir: other,
      mirrors: [],
      dtype: 'fp16',
    });
    expect(new Uint8Array(readFileSync(join(local, 'onnx/model.onnx')))).toEqual(
      GRAPHS['onnx/model_fp16.onnx'],
    );
    expect(existsSync(join(local, 'onnx/model_fp16.onnx.data'))).toBe(true);
    const lacking = await rejection(
      resolveModel(join(mirror, 'test-org/tiny'), { cacheDir: other, mirrors: [], dtype: 'q4f16' }),
    );
    expect(ModelNotFoundError.isInstance(lacking)).toBe(true);
    expect(lacking.message).toContain('It offers: fp32, fp16, q4');
    // llama2.c models convert to fp32 only.
    const known = await rejection(
      resolveModel('stories260K', { cacheDir: other, mirrors: [], dtype: 'q4' }),
    );
    expect(InvalidArgumentError.isInstance(known)).toBe(true);
  });

  test('hub settings come from HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and DECODEKIT_OFFLINE', () => {
    expect(hubOptionsFromEnv({})).toEqual({
      endpoint: undefined,
      token: undefined,
      offline: false,
    });
    expect(
      hubOptionsFromEnv({ HF_ENDPOINT: 'http://mirror', HF_TOKEN: 't', HF_HUB_OFFLINE: '1' }),
    ).toEqual({ endpoint: 'http://mirror', token: 't', offline: true });
    expect(hubOptionsFromEnv({ DECODEKIT_OFFLINE: 'true', HUGGING_FACE_HUB_TOKEN: 'old' })).toEqual(
      { endpoint: undefined, token: 'old', offline: true },
    );
    expect(hubOptionsFromEnv({ HF_HUB_OFFLINE: '0' }).offline).toBe(false);
  });
});

describe('faults: a typed error naming the file and what to do, never a half file', () => {
  test('404: an unknown repository, revision or file is a ModelNotFoundError', async () => {
    const repo = await rejection(resolveHubModel('test-org/nothing', options()));
    expect(ModelNotFoundError.isInstance(repo)).toBe(true);
    expect(repo.message).toContain(`${hub.endpoint}/api/models/test-org/nothing/revision/main`);
    const revision = await rejection(resolveHubModel('test-org/tiny@no-such-branch', options()));
    expect(ModelNotFoundError.isInstance(revision)).toBe(true);
    hub.faults.push({ path: 'tokenizer.json', kind: 'status', status: 404 });
    const file = await rejection(resolveHubModel('test-org/tiny', options()));
    expect(ModelNotFoundError.isInstance(file)).toBe(true);
    expect(file.message).toContain('tokenizer.json');
    expectNoHalfFile();
  });

  test('401 on a gated repo without a token, and with a wrong one; the right token works', async () => {
    const without = await rejection(resolveHubModel('test-org/gated', options()));
    expect(ModelDownloadError.isInstance(without)).toBe(true);
    expect(without).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(without.message).toContain('set HF_TOKEN');
    const wrong = await rejection(
      resolveHubModel('test-org/gated', { ...options(), token: 'hf_wrong' }),
    );
    expect(wrong).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(wrong.message).toContain('refused the token');
    expectNoHalfFile();
    const model = await resolveHubModel('test-org/gated', {
      ...options(),
      token: TOKEN,
      dtype: 'q4',
    });
    expect(new Uint8Array(readFileSync(join(model.folder, 'onnx/model_q4.onnx_data')))).toEqual(
      GRAPHS['onnx/model_q4.onnx_data'],
    );
    expect(
      hub.requests
        .filter(request => request.path.startsWith('/test-org/gated/'))
        .every(request => request.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
  });

  test('500 is a server error naming the file', async () => {
    hub.faults.push({ path: 'onnx/model_q4.onnx_data', kind: 'status', status: 500 });
    const error = await rejection(resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }));
    expect(ModelDownloadError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'server', status: 500, file: 'onnx/model_q4.onnx_data' });
    expect(error.message).toMatch(/onnx\/model_q4\.onnx_data .*HTTP 500\. Try again later/);
    expectNoHalfFile();
  });

  test('a truncated body keeps only a resumable part; the next run resumes it with a Range request', async () => {
    hub.faults.push({ path: 'onnx/model_q4.onnx_data', kind: 'truncate', times: 1 });
    const error = await rejection(
      resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4', retries: 0 }),
    );
    expect(error).toMatchObject({ reason: 'incomplete', file: 'onnx/model_q4.onnx_data' });
    expect(error.message).toContain('ended after 30000 of 60000 bytes');
    expect(error.message).toContain('run again to resume');
    expectNoHalfFile();
    expect(cacheFiles().filter(file => file.endsWith('.incomplete'))).toHaveLength(1);
    hub.requests.length = 0;
    const model = await resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' });
    expect(contentRanges()).toEqual(['bytes=30000-']);
    expect(new Uint8Array(readFileSync(join(model.folder, 'onnx/model_q4.onnx_data')))).toEqual(
      GRAPHS['onnx/model_q4.onnx_data'],
    );
    expect(cacheFiles().filter(file => file.endsWith('.incomplete'))).toEqual([]);
  });

  test('a connection cut mid-file resumes with a Range request and completes', async () => {
    hub.faults.push({ path: 'onnx/model_q4.onnx_data', kind: 'cut', afterBytes: 20_000, times: 1 });
    const model = await resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' });
    expect(contentRanges()).toEqual(['bytes=20000-']);
    expect(new Uint8Array(readFileSync(join(model.folder, 'onnx/model_q4.onnx_data')))).toEqual(
      GRAPHS['onnx/model_q4.onnx_data'],
    );
  });

  test('a part that holds every byte is verified and kept without a request; a bad resumed part starts over', async () => {
    const listing = (await (
      await fetch(`${hub.endpoint}/api/models/test-org/tiny/revision/main?blobs=true`)
    ).json()) as {
      siblings: { rfilename: string; lfs?: { sha256: string } }[];
    };
    const oid = (path: string) => lfsOid(listing, path);
    const blobs = join(cacheDir, 'hub/test-org/tiny/blobs');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(
      join(blobs, `${oid('onnx/model_q4.onnx')}.incomplete`),
      GRAPHS['onnx/model_q4.onnx'],
    );
    const garbled = GRAPHS['onnx/model_q4.onnx_data'].slice(0, 20_000);
    garbled[5] ^= 0xff;
    writeFileSync(join(blobs, `${oid('onnx/model_q4.onnx_data')}.incomplete`), garbled);
    const model = await resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' });
    expect(fileRequests()).not.toContain('onnx/model_q4.onnx');
    expect(contentRanges()).toEqual(['bytes=20000-']);
    expect(new Uint8Array(readFileSync(join(model.folder, 'onnx/model_q4.onnx_data')))).toEqual(
      GRAPHS['onnx/model_q4.onnx_data'],
    );
    expect(cacheFiles().filter(file => file.endsWith('.incomplete'))).toEqual([]);
  });

  test('a connection cut on every try is a network error; the part stays for the next run', async () => {
    hub.faults.push({ path: 'onnx/model_q4.onnx_data', kind: 'cut', afterBytes: 10_000 });
    const error = await rejection(
      resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4', retries: 1 }),
    );
    expect(error).toMatchObject({ reason: 'network', file: 'onnx/model_q4.onnx_data' });
    expect(error.message).toContain('connection was cut');
    expectNoHalfFile();
    expect(contentRanges()).toEqual(['bytes=10000-']);
  });

  test('a hash mismatch deletes the download and says so', async () => {
    hub.faults.push({ path: 'onnx/model_q4.onnx', kind: 'corrupt' });
    const error = await rejection(resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }));
    expect(ModelDownloadError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'integrity', file: 'onnx/model_q4.onnx' });
    expect(error.message).toContain('sha256 (LFS oid)');
    expect(error.message).toContain('was deleted; run again');
    expectNoHalfFile();
    expect(cacheFiles().filter(file => file.endsWith('.incomplete'))).toEqual([]);
    // A small (non-LFS) file is checked against its git blob id.
    hub.faults.length = 0;
    cacheDir = join(root, `cache-${counter++}`);
    hub.faults.push({ path: 'config.json', kind: 'corrupt' });
    const small = await rejection(resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }));
    expect(small).toMatchObject({ reason: 'integrity', file: 'config.json' });
    expect(small.message).toContain('git blob id');
  });

  test('a full disk is a disk error naming the cache, with no file left', async () => {
    // /dev/full fails every write with ENOSPC, for root too; the part file of the graph points there.
    const listing = (await (
      await fetch(`${hub.endpoint}/api/models/test-org/tiny/revision/main?blobs=true`)
    ).json()) as { siblings: { rfilename: string; lfs?: { sha256: string } }[] };
    const oid = lfsOid(listing, 'onnx/model_q4.onnx');
    mkdirSync(join(cacheDir, 'hub/test-org/tiny/blobs'), { recursive: true });
    symlinkSync('/dev/full', join(cacheDir, `hub/test-org/tiny/blobs/${oid}.incomplete`));
    const error = await rejection(resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }));
    expect(ModelDownloadError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'disk', file: 'onnx/model_q4.onnx' });
    expect(error.message).toContain('ENOSPC');
    expect(error.message).toContain('DECODEKIT_CACHE');
    expectNoHalfFile();
    expect(cacheFiles().filter(file => file.endsWith('.incomplete'))).toEqual([]);
  });

  test.skipIf(process.getuid?.() === 0)(
    'a read-only cache folder is a disk error (skipped as root: root writes anyway)',
    async () => {
      mkdirSync(cacheDir, { recursive: true });
      chmodSync(cacheDir, 0o555);
      const error = await rejection(
        resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }),
      );
      expect(error).toMatchObject({ reason: 'disk' });
      expect(error.message).toContain('EACCES');
      expect(cacheFiles()).toEqual([]);
    },
  );

  test('findCachedHubModel ignores a folder whose download never finished', async () => {
    hub.faults.push({ path: 'onnx/model_q4.onnx_data_1', kind: 'status', status: 503 });
    await rejection(resolveHubModel('test-org/tiny', { ...options(), dtype: 'q4' }));
    expect(await findCachedHubModel('test-org/tiny', { cacheDir, dtype: 'q4' })).toBeUndefined();
  });
});
