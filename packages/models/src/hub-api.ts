import { ModelDownloadError, ModelNotFoundError, throwIfAborted } from '@decodekit/core';
import type { HubSibling } from './hub-files.js';
import { isCommitHash } from './hub-id.js';

/** The public Hugging Face hub. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** How to reach a hub (shared by the Node and browser resolvers). */
export interface HubConnection {
  /** Hub base URL (default https://huggingface.co; the Node entry reads `HF_ENDPOINT`). */
  readonly endpoint?: string;
  /** Access token for gated and private repositories (the Node entry reads `HF_TOKEN`). */
  readonly token?: string;
  /** The fetch to use (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch;
  readonly signal?: AbortSignal;
}

/** A revision resolved to its commit, with the repository's files. */
export interface HubRevision {
  readonly id: string;
  /** The revision asked for (branch, tag or commit). */
  readonly revision: string;
  /** The commit it pointed to. */
  readonly commit: string;
  readonly siblings: readonly HubSibling[];
}

/** The endpoint without a trailing slash. */
export function hubEndpoint(connection: HubConnection): string {
  return (connection.endpoint || DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
}

/** `{endpoint}/{id}/resolve/{commit}/{path}`: where a file of a pinned revision downloads from. */
export function hubFileUrl(endpoint: string, id: string, commit: string, path: string): string {
  return `${endpoint}/${id}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** `{endpoint}/api/models/{id}/revision/{revision}?blobs=true`: the listing with sizes and LFS oids. */
export function hubRevisionUrl(endpoint: string, id: string, revision: string): string {
  return `${endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

/** Request headers: the bearer token when there is one. */
export function hubHeaders(
  connection: HubConnection,
  extra: Record<string, string> = {},
): Record<string, string> {
  return connection.token ? { ...extra, authorization: `Bearer ${connection.token}` } : extra;
}

/**
 * The typed error for a failed HTTP answer: 404 is ModelNotFoundError, 401/403 say how to pass a token,
 * other statuses are server errors worth retrying later.
 */
export function hubHttpError(
  ref: string,
  file: string,
  url: string,
  status: number,
  connection: HubConnection,
  searched: readonly string[] = [],
): ModelNotFoundError | ModelDownloadError {
  if (status === 404) {
    return new ModelNotFoundError({
      ref,
      searched: [...searched, `hub: ${url} (HTTP 404)`],
      hint: `The hub has no ${file === 'listing' ? 'such repository or revision' : `file ${file} at that revision`}. Check the id, the @revision and the dtype; set HF_ENDPOINT if the model lives on a mirror.`,
    });
  }
  if (status === 401 || status === 403) {
    return new ModelDownloadError({
      ref,
      file,
      url,
      reason: 'unauthorized',
      status,
      message: connection.token
        ? `the hub refused the token (HTTP ${status}). Check that HF_TOKEN is valid and that your account was granted access to this gated repository on its hub page.`
        : `the repository is gated or private, or does not exist (HTTP ${status}). Check the id; for a gated repo accept its terms on the hub page, then set HF_TOKEN to an access token (or pass the token option).`,
    });
  }
  return new ModelDownloadError({
    ref,
    file,
    url,
    reason: 'server',
    status,
    message: `the hub answered HTTP ${status}. Try again later; if it persists, use a mirror (HF_ENDPOINT) or DECODEKIT_MODELS.`,
  });
}

function networkError(ref: string, file: string, url: string, cause: unknown): ModelDownloadError {
  return new ModelDownloadError({
    ref,
    file,
    url,
    reason: 'network',
    message: `${(cause as Error)?.message ?? String(cause)}. Check your connection (or HF_ENDPOINT), then run again; finished files are kept.`,
    cause,
  });
}

/** Fetches `url`, turning network failures (not aborts) into ModelDownloadError. */
export async function hubFetch(
  ref: string,
  file: string,
  url: string,
  connection: HubConnection,
  init: RequestInit = {},
): Promise<Response> {
  const fetch = connection.fetch ?? globalThis.fetch;
  try {
    return await fetch(url, { ...init, signal: connection.signal, redirect: 'follow' });
  } catch (cause) {
    throwIfAborted(connection.signal);
    throw networkError(ref, file, url, cause);
  }
}

/** A file download: the final response, and the hub's own headers from before any redirect. */
export interface HubFileResponse {
  readonly response: Response;
  /** Headers of the first answer (`X-Linked-Etag`, `X-Linked-Size`, `ETag` of the hub, not the CDN). */
  readonly hubHeaders: Headers;
}

const MAX_REDIRECTS = 5;

/**
 * GETs a `resolve` URL, following redirects by hand where the runtime shows them (Node) so that the hub's
 * `X-Linked-Etag` / `X-Linked-Size` on the redirect are kept; the bearer token is sent only to the hub's
 * origin. Where redirects are opaque (browsers), fetch follows them itself.
 */
export async function hubFetchFile(
  ref: string,
  file: string,
  url: string,
  connection: HubConnection,
  headers: Record<string, string> = {},
): Promise<HubFileResponse> {
  const fetch = connection.fetch ?? globalThis.fetch;
  const origin = new URL(url).origin;
  let current = url;
  let first: Headers | undefined;
  for (let hop = 0; ; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    let response: Response;
    try {
      response = await fetch(current, {
        headers: sameOrigin ? hubHeaders(connection, headers) : headers,
        signal: connection.signal,
        redirect: hop < MAX_REDIRECTS ? 'manual' : 'follow',
      });
    } catch (cause) {
      throwIfAborted(connection.signal);
      throw networkError(ref, file, url, cause);
    }
    first ??= response.headers;
    if (response.type === 'opaqueredirect') {
      // A browser hides the redirect: let it follow (it keeps or drops headers by its own rules).
      return {
        response: await hubFetch(ref, file, current, connection, {
          headers: hubHeaders(connection, headers),
        }),
        hubHeaders: first,
      };
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    return { response, hubHeaders: first };
  }
}

interface ApiSibling {
  rfilename?: unknown;
  size?: unknown;
  blobId?: unknown;
  lfs?: { sha256?: unknown; oid?: unknown; size?: unknown } | null;
}

function hex(value: unknown, length: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const bare = value.replace(/^sha256:/, '').toLowerCase();
  return bare.length === length && /^[0-9a-f]+$/.test(bare) ? bare : undefined;
}

/**
 * Resolves `revision` of `id` to a commit and lists its files through the hub API
 * (`GET {endpoint}/api/models/{id}/revision/{revision}?blobs=true`).
 *
 * @throws ModelNotFoundError (unknown repository or revision), ModelDownloadError (401/403, 5xx, network,
 *   a malformed answer)
 */
export async function fetchHubRevision(
  id: string,
  revision: string,
  connection: HubConnection,
  searched: readonly string[] = [],
): Promise<HubRevision> {
  const url = hubRevisionUrl(hubEndpoint(connection), id, revision);
  const ref = `${id}@${revision}`;
  const response = await hubFetch(ref, 'listing', url, connection, {
    headers: hubHeaders(connection),
  });
  if (!response.ok) throw hubHttpError(ref, 'listing', url, response.status, connection, searched);
  let body: { sha?: unknown; siblings?: ApiSibling[] };
  try {
    body = (await response.json()) as typeof body;
  } catch (cause) {
    throw new ModelDownloadError({
      ref,
      file: 'listing',
      url,
      reason: 'server',
      status: response.status,
      message:
        'the hub API answered something that is not JSON. Check HF_ENDPOINT points at a Hugging Face hub or mirror.',
      cause,
    });
  }
  const commit = hex(body.sha, 40);
  if (!commit || !Array.isArray(body.siblings)) {
    throw new ModelDownloadError({
      ref,
      file: 'listing',
      url,
      reason: 'server',
      status: response.status,
      message:
        'the hub API answer has no commit sha or file list. Check HF_ENDPOINT points at a Hugging Face hub or mirror.',
    });
  }
  if (isCommitHash(revision) && commit !== revision) {
    throw new ModelDownloadError({
      ref,
      file: 'listing',
      url,
      reason: 'integrity',
      message: `asked for commit ${revision} but the hub answered ${commit}. Check HF_ENDPOINT serves this repository faithfully.`,
    });
  }
  const siblings: HubSibling[] = body.siblings
    .filter(sibling => typeof sibling.rfilename === 'string')
    .map(sibling => {
      const lfsSize = sibling.lfs?.size;
      const size =
        typeof sibling.size === 'number'
          ? sibling.size
          : typeof lfsSize === 'number'
            ? lfsSize
            : undefined;
      return {
        path: sibling.rfilename as string,
        size,
        sha256: hex(sibling.lfs?.sha256 ?? sibling.lfs?.oid, 64),
        blobId: hex(sibling.blobId, 40),
      };
    });
  return { id, revision, commit, siblings };
}

/**
 * What a downloaded file must hash to: the sha256 of an LFS file (from the listing, else the response's
 * `X-Linked-Etag`/`ETag`), or the git blob id of a small file.
 */
export interface ExpectedDigest {
  readonly algorithm: 'sha256' | 'git-sha1';
  readonly hex: string;
}

function etagOf(headers: Headers | undefined, name: string): string {
  return (headers?.get(name) ?? '').replace(/^W\//, '').replace(/"/g, '');
}

/**
 * The digest to check for `sibling`: the listing's LFS sha256, else the hub's `X-Linked-Etag` (or an
 * `ETag` that is a sha256), else the git blob id from the listing or the hub's `ETag`. `headers` are the
 * hub's first answer (before redirects), then the final response's.
 */
export function expectedDigest(
  sibling: HubSibling,
  ...headers: Array<Headers | undefined>
): ExpectedDigest | undefined {
  if (sibling.sha256) return { algorithm: 'sha256', hex: sibling.sha256 };
  for (const set of headers) {
    const linked = hex(etagOf(set, 'x-linked-etag'), 64) ?? hex(etagOf(set, 'etag'), 64);
    if (linked) return { algorithm: 'sha256', hex: linked };
  }
  if (sibling.blobId) return { algorithm: 'git-sha1', hex: sibling.blobId };
  const etag = hex(etagOf(headers[0], 'etag'), 40);
  return etag ? { algorithm: 'git-sha1', hex: etag } : undefined;
}

/**
 * The size of a file: the listing's, else the hub's `X-Linked-Size`, else the total of the final
 * response (`Content-Range` of a 206, `Content-Length` of a 200).
 */
export function expectedSize(
  sibling: HubSibling,
  hubHeaders?: Headers,
  response?: Response,
): number | undefined {
  if (sibling.size !== undefined) return sibling.size;
  const linked = Number(hubHeaders?.get('x-linked-size') ?? NaN);
  if (Number.isInteger(linked) && linked >= 0) return linked;
  if (!response) return undefined;
  const total =
    response.status === 206
      ? /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1]
      : response.headers.get('content-length');
  const value = Number(total ?? NaN);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** The header git hashes before a blob's bytes: `blob {size}\0`. */
export function gitBlobHeader(size: number): Uint8Array {
  return new TextEncoder().encode(`blob ${size}\0`);
}

function toHex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map(byte => byte.toString(16).padStart(2, '0')).join('');
}

/** Hashes a whole buffer as `digest` asks (Web Crypto: browsers and Node). */
export async function digestBytes(
  bytes: Uint8Array,
  algorithm: ExpectedDigest['algorithm'],
): Promise<string> {
  if (algorithm === 'sha256')
    return toHex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  const header = gitBlobHeader(bytes.byteLength);
  const joined = new Uint8Array(header.byteLength + bytes.byteLength);
  joined.set(header);
  joined.set(bytes, header.byteLength);
  return toHex(await crypto.subtle.digest('SHA-1', joined));
}

/** The ModelDownloadError for bytes that do not hash as the hub says. */
export function integrityError(
  ref: string,
  file: string,
  url: string,
  expected: ExpectedDigest,
  actual: string,
  bytes: number,
): ModelDownloadError {
  return new ModelDownloadError({
    ref,
    file,
    url,
    reason: 'integrity',
    message:
      `the ${bytes} downloaded bytes hash to ${actual} but the hub's ${expected.algorithm === 'sha256' ? 'sha256 (LFS oid)' : 'git blob id'} is ${expected.hex}. ` +
      'The download was deleted; run again to download it afresh. If it persists, the server (HF_ENDPOINT) serves corrupt files.',
  });
}

/** The ModelDownloadError for a file the hub gives no checksum for. */
export function noDigestError(ref: string, file: string, url: string): ModelDownloadError {
  return new ModelDownloadError({
    ref,
    file,
    url,
    reason: 'integrity',
    message:
      'the hub gave no sha256 or git blob id for it, so it cannot be verified. Use a hub or mirror that lists blobs (GET /api/models/{id}/revision/{rev}?blobs=true).',
  });
}
