import {
  invariant,
  ModelDownloadError,
  ModelFormatError,
  ModelNotFoundError,
  throwIfAborted,
  type ModelFiles,
} from '@decodekit/core';
import {
  type ExpectedDigest,
  type HubConnection,
  type HubRevision,
  digestBytes,
  expectedDigest,
  expectedSize,
  fetchHubRevision,
  hubEndpoint,
  hubFetchFile,
  hubFileUrl,
  hubHttpError,
  hubRevisionUrl,
  integrityError,
  noDigestError,
} from './hub-api.js';
import { type HubFileSelection, parseHubDtype, selectHubFiles } from './hub-files.js';
import { parseHubId } from './hub-id.js';

/** The part of the Cache Storage `Cache` interface the browser resolver uses (tests pass a fake). */
export interface HubCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
}

/** Options of {@link resolveHubFiles}. */
export interface ResolveHubFilesOptions extends HubConnection {
  /** Graph dtype by transformers.js naming (default `fp32`: `onnx/model.onnx`). */
  readonly dtype?: string;
  /** Folder inside the repository holding the model. */
  readonly subfolder?: string;
  /** Never touch the network; answer from the cache or fail naming where it looked. */
  readonly offline?: boolean;
  /** Extra attempts per file after a cut connection or a short body, each resuming with HTTP Range (default 2). */
  readonly retries?: number;
  /**
   * Where verified files are kept: a Cache Storage cache (default `caches.open('decodekit-hub')` where
   * Cache Storage exists), or `null` for none.
   */
  readonly cache?: HubCache | null;
  /** Progress of the whole model: bytes received (cached ones included) of all its files. */
  readonly onProgress?: (progress: {
    ref: string;
    file: string;
    received: number;
    total: number;
    done: boolean;
  }) => void;
}

/** A hub model's files in memory, pinned to a commit. */
export interface HubModelFiles {
  readonly id: string;
  readonly revision: string;
  readonly commit: string;
  readonly layout: HubFileSelection['layout'];
  readonly dtype?: string;
  /** Repository path of the picked graph (e.g. `onnx/model_q4.onnx`), relative to `subfolder`. */
  readonly graph: string;
  /** Verified bytes by path (relative to `subfolder`). */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

const CACHE_NAME = 'decodekit-hub';

async function defaultCache(): Promise<HubCache | null> {
  const storage = (globalThis as { caches?: { open(name: string): Promise<HubCache> } }).caches;
  return storage ? storage.open(CACHE_NAME) : null;
}

async function put(
  cache: HubCache,
  key: string,
  bytes: Uint8Array,
  ref: string,
  file: string,
): Promise<void> {
  try {
    await cache.put(
      key,
      new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { 'content-length': String(bytes.byteLength) },
      }),
    );
  } catch (cause) {
    throw new ModelDownloadError({
      ref,
      file,
      url: key,
      reason: 'disk',
      message: `the browser cache refused to store it (${(cause as Error)?.name ?? 'error'}: ${(cause as Error)?.message ?? String(cause)}). Free site storage (or grant persistent storage), or pass cache: null to keep it in memory only.`,
      cause,
    });
  }
}

/** The bytes of a file received so far, over one or more requests (a resumed one continues with Range). */
interface PartialBody {
  readonly chunks: Uint8Array[];
  received: number;
}

/** Reads `response`'s body onto `part`; a cut connection is a `network` ModelDownloadError (the part stays). */
async function readBody(
  response: Response,
  part: PartialBody,
  onBytes: (bytes: number) => void,
  ref: string,
  file: string,
  url: string,
  connection: HubConnection,
): Promise<void> {
  invariant(response.body !== null, 'a successful hub response has a body');
  const reader = response.body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (cause) {
      throwIfAborted(connection.signal);
      throw new ModelDownloadError({
        ref,
        file,
        url,
        reason: 'network',
        message: `the connection was cut after ${part.received} bytes (${(cause as Error)?.message}). Run again; verified files are kept in the cache.`,
        cause,
      });
    }
    if (chunk.done) return;
    part.chunks.push(chunk.value);
    part.received += chunk.value.byteLength;
    onBytes(part.received);
  }
}

function joinChunks(part: PartialBody): Uint8Array {
  const bytes = new Uint8Array(part.received);
  let offset = 0;
  for (const chunk of part.chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * The browser counterpart of the Node resolver: resolves a hub id (`org/name@revision`) to a commit once,
 * picks the files for `dtype` like the Node resolver, downloads them with fetch, checks each against the
 * hub's sha256 (LFS oid) or git blob id, and keeps verified files in Cache Storage keyed by commit (a file
 * is stored only once verified, so the cache never holds a half file). Browser-safe.
 *
 * @throws ModelNotFoundError (offline and not cached, unknown repo/revision/file, no graph for `dtype`);
 *   ModelDownloadError (unauthorized, server, network, incomplete, integrity, disk)
 */
export async function resolveHubFiles(
  ref: string,
  options: ResolveHubFilesOptions = {},
): Promise<HubModelFiles> {
  const { id, revision } = parseHubId(ref);
  if (options.dtype !== undefined) parseHubDtype(options.dtype);
  const cache = options.cache === undefined ? await defaultCache() : options.cache;
  const endpoint = hubEndpoint(options);
  const listingKey = hubRevisionUrl(endpoint, id, revision);

  let listing: HubRevision | undefined;
  const cachedListing = await cache?.match(listingKey);
  if (cachedListing) listing = (await cachedListing.json()) as HubRevision;
  if (!listing) {
    if (options.offline) {
      throw new ModelNotFoundError({
        ref,
        searched: [
          `browser cache "${CACHE_NAME}": ${listingKey}`,
          `hub: ${endpoint}/${id} (skipped: offline)`,
        ],
        hint: 'Offline mode is on. Go online once to download the model.',
      });
    }
    listing = await fetchHubRevision(id, revision, options);
  }
  const selection = selectHubFiles(ref, listing.siblings, {
    dtype: options.dtype,
    subfolder: options.subfolder,
  });
  const total = selection.files.reduce((sum, file) => sum + (file.size ?? 0), 0);
  const receivedByFile = new Map<string, number>();
  const report = (file: string, done: boolean) => {
    const received = [...receivedByFile.values()].reduce((sum, bytes) => sum + bytes, 0);
    options.onProgress?.({ ref, file, received, total: Math.max(total, received), done });
  };

  const files = new Map<string, Uint8Array>();
  const prefix = options.subfolder ? `${options.subfolder.replace(/^\/+|\/+$/g, '')}/` : '';
  const local = (path: string) =>
    prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path;
  for (const sibling of selection.files) {
    const url = hubFileUrl(endpoint, id, listing.commit, sibling.path);
    const cached = await cache?.match(url);
    let bytes: Uint8Array;
    if (cached) {
      bytes = new Uint8Array(await cached.arrayBuffer());
      receivedByFile.set(sibling.path, bytes.byteLength);
      report(sibling.path, false);
    } else {
      if (options.offline) {
        throw new ModelNotFoundError({
          ref,
          searched: [`browser cache "${CACHE_NAME}": ${url}`, `hub: ${url} (skipped: offline)`],
          hint: 'Offline mode is on and this file was never downloaded. Go online once to download the model.',
        });
      }
      // A cut connection or a short body resumes with an HTTP Range request, up to `retries` times.
      const retries = options.retries ?? 2;
      const part: PartialBody = { chunks: [], received: 0 };
      let digest: ExpectedDigest | undefined;
      let size: number | undefined;
      for (let attempt = 0; ; attempt++) {
        const resumeFrom = part.received;
        const { response, hubHeaders } = await hubFetchFile(
          ref,
          sibling.path,
          url,
          options,
          resumeFrom > 0 ? { range: `bytes=${resumeFrom}-` } : {},
        );
        if (!response.ok || !response.body)
          throw hubHttpError(ref, sibling.path, url, response.status, options);
        if (resumeFrom > 0 && response.status !== 206) {
          part.chunks.length = 0; // the server ignored the Range: start over
          part.received = 0;
        }
        if (!digest) {
          digest = expectedDigest(sibling, hubHeaders, response.headers);
          if (!digest) throw noDigestError(ref, sibling.path, url);
          size = expectedSize(sibling, hubHeaders, response);
        }
        try {
          await readBody(
            response,
            part,
            received => {
              receivedByFile.set(sibling.path, received);
              report(sibling.path, false);
            },
            ref,
            sibling.path,
            url,
            options,
          );
        } catch (error) {
          if (attempt < retries && ModelDownloadError.isInstance(error)) continue;
          throw error;
        }
        if (size !== undefined && part.received < size) {
          if (attempt < retries) continue;
          throw new ModelDownloadError({
            ref,
            file: sibling.path,
            url,
            reason: 'incomplete',
            message: `the body ended after ${part.received} of ${size} bytes (${attempt + 1} tries). Nothing was cached; run again.`,
          });
        }
        break;
      }
      invariant(digest !== undefined, 'the first answer gave the digest');
      bytes = joinChunks(part);
      const actual = await digestBytes(bytes, digest.algorithm);
      if (actual !== digest.hex)
        throw integrityError(ref, sibling.path, url, digest, actual, bytes.byteLength);
      if (cache) await put(cache, url, bytes, ref, sibling.path);
    }
    files.set(local(sibling.path), bytes);
  }
  // The listing is cached last: a revision counts as resolved only once its files are all in the cache.
  if (cache && !cachedListing) {
    await put(cache, listingKey, new TextEncoder().encode(JSON.stringify(listing)), ref, 'listing');
  }
  report(selection.graph, true);
  return {
    id,
    revision,
    commit: listing.commit,
    layout: selection.layout,
    dtype: selection.dtype,
    graph: local(selection.graph),
    files,
  };
}

function parseJson(
  files: ReadonlyMap<string, Uint8Array>,
  path: string,
  ref: string,
  optional: false,
): Record<string, unknown>;
function parseJson(
  files: ReadonlyMap<string, Uint8Array>,
  path: string,
  ref: string,
  optional: true,
): Record<string, unknown> | undefined;
function parseJson(
  files: ReadonlyMap<string, Uint8Array>,
  path: string,
  ref: string,
  optional: boolean,
): Record<string, unknown> | undefined {
  const bytes = files.get(path);
  if (!bytes) {
    if (optional) return undefined;
    throw new ModelFormatError({
      path: `${ref}/${path}`,
      message: 'is missing. A model needs it; pick a repository with a transformers.js layout.',
    });
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch (cause) {
    throw new ModelFormatError({
      path: `${ref}/${path}`,
      message: `is not valid JSON (${(cause as Error).message}).`,
      cause,
    });
  }
}

/**
 * {@link ModelFiles} plus where the graph came from, as the ONNX backends read them: `onnxFile` names the graph
 * in messages; a split `decoder_model` + `decoder_with_past_model` pair gives the with-past graph as `onnx` and
 * the prompt graph as `firstOnnx`.
 */
export interface HubSourceFiles extends ModelFiles {
  /** Path of `onnx` inside the repository (e.g. `onnx/model_q4.onnx`). */
  readonly onnxFile: string;
  /** The prompt graph of a split pair (`onnx/decoder_model{suffix}.onnx`, no past inputs). */
  readonly firstOnnx?: Uint8Array;
  readonly firstOnnxFile?: string;
  /**
   * The graphs' external data files (`model_q4.onnx_data`, `model.onnx.data`, numbered shards), named as the
   * graphs reference them (relative to the graph's folder); ONNX backends that take bytes pass them to the
   * runtime with the graph.
   */
  readonly externalData?: ReadonlyArray<{ readonly path: string; readonly data: Uint8Array }>;
}

/** The with-past partner of a split pair's prompt graph, or undefined for any other graph. */
function withPastGraphOf(graph: string): string | undefined {
  const match = /^(.*\/)?decoder_model((?:_[a-z0-9]+)?)\.onnx$/.exec(graph);
  if (!match || match[2] === '_merged') return undefined;
  return `${match[1] ?? ''}decoder_with_past_model${match[2]}.onnx`;
}

/**
 * The {@link ModelFiles} a backend's `load` takes, from a transformers.js-layout hub model fetched with
 * {@link resolveHubFiles}: the picked graph as `onnx` (for a split decoder pair, the with-past graph, with the
 * prompt graph as `firstOnnx`), its external data files as `externalData`, with config, generation config,
 * tokenizer and tokenizer config parsed. An onnxruntime-genai folder is refused with a ModelFormatError that
 * says what to do (its settings are in genai_config.json, which the ONNX backends read from folders and URLs).
 */
export function hubModelFiles(model: HubModelFiles): HubSourceFiles {
  const ref = `${model.id}@${model.commit}`;
  if (model.layout !== 'transformers.js') {
    throw new ModelFormatError({
      path: ref,
      message:
        "is an onnxruntime-genai folder; load it from a folder (resolveModel in Node) or from its hub URL with @decodekit/backend-onnx's fetchModelFiles in browsers, not as in-memory ModelFiles.",
    });
  }
  const withPast = withPastGraphOf(model.graph);
  const graphs = withPast ? [model.graph, withPast] : [model.graph];
  const externalData = [...model.files]
    .filter(([path]) =>
      graphs.some(graph => path.startsWith(`${graph}_data`) || path.startsWith(`${graph}.data`)),
    )
    .map(([path, data]) => ({ path: path.slice(path.lastIndexOf('/') + 1), data }));
  const graphBytes = (path: string): Uint8Array => {
    const bytes = model.files.get(path);
    invariant(bytes !== undefined, `the hub model's files include its graph ${path}`);
    return bytes;
  };
  const json = {
    config: parseJson(model.files, 'config.json', ref, false),
    generationConfig: parseJson(model.files, 'generation_config.json', ref, true),
    tokenizer: parseJson(model.files, 'tokenizer.json', ref, false),
    tokenizerConfig: parseJson(model.files, 'tokenizer_config.json', ref, true),
  };
  const extra = externalData.length > 0 ? { externalData } : {};
  if (withPast) {
    return {
      ...json,
      ...extra,
      onnx: graphBytes(withPast),
      onnxFile: withPast,
      firstOnnx: graphBytes(model.graph),
      firstOnnxFile: model.graph,
    };
  }
  return { ...json, ...extra, onnx: graphBytes(model.graph), onnxFile: model.graph };
}
