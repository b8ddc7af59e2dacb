/** The browser resolver (fetch + Cache Storage) against the local hub, with an in-memory Cache. */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ModelDownloadError, ModelNotFoundError } from '@decodekit/core';
import { type LocalHub, startLocalHub } from './local-hub.js';
import { type HubCache, hubModelFiles, resolveHubFiles } from './resolve-hub-files.js';

/** An in-memory stand-in for a Cache Storage cache (stores bytes, answers fresh Responses). */
function memoryCache(quota = Number.POSITIVE_INFINITY) {
  const entries = new Map<string, Uint8Array>();
  let used = 0;
  const cache: HubCache = {
    async match(request) {
      const bytes = entries.get(request);
      return bytes ? new Response(bytes.slice()) : undefined;
    },
    async put(request, response) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (used + bytes.byteLength > quota)
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      used += bytes.byteLength;
      entries.set(request, bytes);
    },
  };
  return { cache, entries };
}

const bytes = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, index) => (index * 31 + seed) & 0xff);
const REPO = {
  'config.json': '{"model_type":"llama"}',
  'tokenizer.json': '{"model":{}}',
  'onnx/model.onnx': bytes(20_000, 1),
  'onnx/model_q4f16.onnx': bytes(15_000, 2),
  'onnx/model_q4f16.onnx_data': bytes(40_000, 3),
};
const TOKEN = 'hf_browser';
let hub: LocalHub;

beforeAll(async () => {
  hub = await startLocalHub({
    'web/tiny': { files: REPO },
    'web/gated': { files: REPO, token: TOKEN },
  });
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.requests.length = 0;
  hub.faults.length = 0;
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    error => error as Error,
  );
}

describe('resolveHubFiles (browser: fetch + Cache Storage)', () => {
  test('downloads the dtype files, verifies them, caches them by commit, then answers from the cache', async () => {
    const { cache, entries } = memoryCache();
    const progress: number[] = [];
    const model = await resolveHubFiles('web/tiny', {
      endpoint: hub.endpoint,
      dtype: 'q4f16',
      cache,
      onProgress: p => progress.push(p.received),
    });
    expect(model.commit).toBe(hub.commitOf('web/tiny'));
    expect(model.graph).toBe('onnx/model_q4f16.onnx');
    expect([...model.files.keys()].sort()).toEqual([
      'config.json',
      'onnx/model_q4f16.onnx',
      'onnx/model_q4f16.onnx_data',
      'tokenizer.json',
    ]);
    expect(model.files.get('onnx/model_q4f16.onnx_data')).toEqual(
      REPO['onnx/model_q4f16.onnx_data'],
    );
    expect(progress.at(-1)).toBe(
      55_000 + REPO['config.json'].length + REPO['tokenizer.json'].length,
    );
    expect(
      [...entries.keys()].filter(key => key.includes(`/resolve/${model.commit}/`)),
    ).toHaveLength(4);

    hub.requests.length = 0;
    const again = await resolveHubFiles('web/tiny', {
      endpoint: hub.endpoint,
      dtype: 'q4f16',
      cache,
      offline: true,
    });
    expect(again.files.get('onnx/model_q4f16.onnx')).toEqual(REPO['onnx/model_q4f16.onnx']);
    expect(hub.requests).toEqual([]);
  });

  test('hubModelFiles gives a backend the picked graph, its external data and the parsed JSON', async () => {
    const fp32 = hubModelFiles(
      await resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache: null }),
    );
    expect(fp32.onnx).toEqual(REPO['onnx/model.onnx']);
    expect(fp32.onnxFile).toBe('onnx/model.onnx');
    expect(fp32.externalData).toBeUndefined();
    expect(fp32.config).toEqual({ model_type: 'llama' });
    expect(fp32.generationConfig).toBeUndefined();
    const q4f16 = hubModelFiles(
      await resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache: null, dtype: 'q4f16' }),
    );
    expect(q4f16.onnx).toEqual(REPO['onnx/model_q4f16.onnx']);
    // Named as the graph references it: relative to the graph's folder.
    expect(q4f16.externalData).toEqual([
      { path: 'model_q4f16.onnx_data', data: REPO['onnx/model_q4f16.onnx_data'] },
    ]);
  });

  test('hubModelFiles gives a split pair as the with-past graph plus the prompt graph', async () => {
    const split = {
      'config.json': '{"model_type":"llama"}',
      'tokenizer.json': '{"model":{}}',
      'onnx/decoder_model_merged.onnx': bytes(12_000, 4),
      'onnx/decoder_model_q4.onnx': bytes(11_000, 5),
      'onnx/decoder_with_past_model_q4.onnx': bytes(11_000, 6),
    };
    hub.update('web/tiny-split', { files: split });
    const q4 = hubModelFiles(
      await resolveHubFiles('web/tiny-split', { endpoint: hub.endpoint, cache: null, dtype: 'q4' }),
    );
    expect(q4).toMatchObject({
      onnxFile: 'onnx/decoder_with_past_model_q4.onnx',
      firstOnnxFile: 'onnx/decoder_model_q4.onnx',
    });
    expect(q4.onnx).toEqual(split['onnx/decoder_with_past_model_q4.onnx']);
    expect(q4.firstOnnx).toEqual(split['onnx/decoder_model_q4.onnx']);
    // The merged decoder is one graph, not half of a pair.
    const merged = hubModelFiles(
      await resolveHubFiles('web/tiny-split', { endpoint: hub.endpoint, cache: null }),
    );
    expect(merged).toMatchObject({ onnxFile: 'onnx/decoder_model_merged.onnx' });
    expect(merged.firstOnnx).toBeUndefined();
    expect(merged.onnx).toEqual(split['onnx/decoder_model_merged.onnx']);
  });

  test('offline with an empty cache names the cache and the hub', async () => {
    const error = await rejection(
      resolveHubFiles('web/tiny', {
        endpoint: hub.endpoint,
        cache: memoryCache().cache,
        offline: true,
      }),
    );
    expect(ModelNotFoundError.isInstance(error)).toBe(true);
    expect(error.message).toContain('browser cache "decodekit-hub"');
    expect(error.message).toContain('skipped: offline');
  });

  test('a corrupt file is an integrity error and is not cached', async () => {
    const { cache, entries } = memoryCache();
    hub.faults.push({ path: 'onnx/model.onnx', kind: 'corrupt' });
    const error = await rejection(resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache }));
    expect(ModelDownloadError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'integrity', file: 'onnx/model.onnx' });
    expect([...entries.keys()].some(key => key.endsWith('onnx/model.onnx'))).toBe(false);
  });

  test('a truncated body is an incomplete download, not cached', async () => {
    const { cache, entries } = memoryCache();
    hub.faults.push({ path: 'onnx/model.onnx', kind: 'truncate' });
    const error = await rejection(resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache }));
    expect(error).toMatchObject({ reason: 'incomplete', file: 'onnx/model.onnx' });
    expect([...entries.keys()].some(key => key.endsWith('onnx/model.onnx'))).toBe(false);
  });

  test('a connection cut mid-file, or a short body, resumes with a Range request and completes', async () => {
    const { cache, entries } = memoryCache();
    hub.faults.push(
      { path: 'onnx/model.onnx', kind: 'cut', afterBytes: 7_000, times: 1 },
      { path: 'config.json', kind: 'truncate', times: 1 },
    );
    const model = await resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache });
    expect(model.files.get('onnx/model.onnx')).toEqual(REPO['onnx/model.onnx']);
    expect(model.files.get('config.json')).toEqual(new TextEncoder().encode(REPO['config.json']));
    // Each resumed request (the hub's answer and, for LFS files, the redirect it follows) asks for the rest.
    expect(new Set(hub.requests.map(request => request.range).filter(Boolean))).toEqual(
      new Set([`bytes=${REPO['config.json'].length >> 1}-`, 'bytes=7000-']),
    );
    expect(entries.size).toBe(4); // config, tokenizer, graph and the listing
  });

  test('a cut on every try is a network error after `retries` resumes; nothing is cached', async () => {
    const { cache, entries } = memoryCache();
    hub.faults.push({ path: 'onnx/model.onnx', kind: 'cut', afterBytes: 1_000 });
    const error = await rejection(
      resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache, retries: 1 }),
    );
    expect(error).toMatchObject({ reason: 'network', file: 'onnx/model.onnx' });
    expect(new Set(hub.requests.map(request => request.range).filter(Boolean))).toEqual(
      new Set(['bytes=1000-']),
    );
    expect([...entries.keys()].some(key => key.includes('model.onnx'))).toBe(false);
  });

  test('a full cache (quota exceeded) is a disk error that says how to free storage', async () => {
    const error = await rejection(
      resolveHubFiles('web/tiny', { endpoint: hub.endpoint, cache: memoryCache(1_000).cache }),
    );
    expect(error).toMatchObject({ reason: 'disk', file: 'onnx/model.onnx' });
    expect(error.message).toContain('QuotaExceededError');
  });

  test('a gated repo needs the token', async () => {
    const error = await rejection(
      resolveHubFiles('web/gated', { endpoint: hub.endpoint, cache: null }),
    );
    expect(error).toMatchObject({ reason: 'unauthorized', status: 401 });
    const model = await resolveHubFiles('web/gated', {
      endpoint: hub.endpoint,
      cache: null,
      token: TOKEN,
    });
    expect(model.files.get('onnx/model.onnx')).toEqual(REPO['onnx/model.onnx']);
  });
});
