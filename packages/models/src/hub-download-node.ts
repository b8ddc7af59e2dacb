import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { invariant, ModelDownloadError, throwIfAborted } from '@decodekit/core';
import {
  type ExpectedDigest,
  type HubConnection,
  expectedDigest,
  expectedSize,
  gitBlobHeader,
  hubFetchFile,
  hubHttpError,
  integrityError,
  noDigestError,
} from './hub-api.js';
import type { HubSibling } from './hub-files.js';

/** What {@link downloadHubBlob} needs. */
export interface HubBlobRequest {
  /** The model ref, for error messages. */
  readonly ref: string;
  readonly sibling: HubSibling;
  readonly url: string;
  /** Folder of verified blobs (named by digest) and resumable `*.incomplete` parts. */
  readonly blobsDir: string;
  /** Name of the part file when the listing gives no digest (stable across runs). */
  readonly partName: string;
  readonly connection: HubConnection;
  /** Bytes of this file on disk so far (resumed bytes included). */
  readonly onReceived?: (received: number) => void;
  /** Extra attempts after a cut connection or a short body, each resuming with a Range request. */
  readonly retries?: number;
}

const DISK_ERRORS = new Set([
  'ENOSPC',
  'EDQUOT',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOTDIR',
  'EISDIR',
  'EEXIST',
  'EFBIG',
]);

/** Runs a file-system step; disk failures become ModelDownloadError('disk') naming the folder. */
async function onDisk<T>(
  request: HubBlobRequest,
  path: string,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (!code || !DISK_ERRORS.has(code)) throw cause;
    throw new ModelDownloadError({
      ref: request.ref,
      file: request.sibling.path,
      url: request.url,
      reason: 'disk',
      message: `the cache refused the write at ${path} (${code}). Free disk space or make the folder writable, or point the cache elsewhere (cacheDir option, DECODEKIT_CACHE).`,
      cause,
    });
  }
}

class RetryableFailure {
  constructor(readonly error: ModelDownloadError) {}
}

async function hashExisting(path: string, update: (chunk: Uint8Array) => void): Promise<void> {
  for await (const chunk of createReadStream(path)) update(chunk as Uint8Array);
}

function partialFailure(
  request: HubBlobRequest,
  reason: 'network' | 'incomplete',
  detail: string,
  cause?: unknown,
): RetryableFailure {
  return new RetryableFailure(
    new ModelDownloadError({
      ref: request.ref,
      file: request.sibling.path,
      url: request.url,
      reason,
      message: `${detail}. The part received so far is kept beside the cache's blobs; run again to resume it.`,
      cause,
    }),
  );
}

/** One attempt: resumes from the part file when the server honours Range. Returns the blob path. */
async function attempt(
  request: HubBlobRequest,
  known: ExpectedDigest | undefined,
): Promise<string> {
  const { sibling, url, blobsDir, connection } = request;
  const partial = join(blobsDir, `${known?.hex ?? request.partName}.incomplete`);
  let offset = existsSync(partial) ? (await stat(partial)).size : 0;
  const { response, hubHeaders } = await hubFetchFile(
    request.ref,
    sibling.path,
    url,
    connection,
    offset > 0 ? { range: `bytes=${offset}-` } : {},
  );
  if (response.status === 416) {
    // The part is already as long as the file (or longer): start over.
    await rm(partial, { force: true });
    throw partialFailure(request, 'incomplete', 'the server refused to resume the part (HTTP 416)');
  }
  if (!response.ok || !response.body)
    throw hubHttpError(request.ref, sibling.path, url, response.status, connection);
  const digest = known ?? expectedDigest(sibling, hubHeaders, response.headers);
  if (!digest) throw noDigestError(request.ref, sibling.path, url);
  const size = expectedSize(sibling, hubHeaders, response);
  if (digest.algorithm === 'git-sha1' && size === undefined)
    throw noDigestError(request.ref, sibling.path, url);
  const resumed =
    response.status === 206 &&
    offset > 0 &&
    (response.headers.get('content-range') ?? '').startsWith(`bytes ${offset}-`);
  if (!resumed) offset = 0;

  const hash = createHash(digest.algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (digest.algorithm === 'git-sha1') {
    invariant(size !== undefined, 'a git-sha1 digest was checked to come with a size');
    hash.update(gitBlobHeader(size));
  }
  if (resumed) await hashExisting(partial, chunk => hash.update(chunk));
  await onDisk(request, blobsDir, () => mkdir(blobsDir, { recursive: true }));
  const handle = await onDisk(request, partial, () => open(partial, resumed ? 'a' : 'w'));
  let received = offset;
  request.onReceived?.(received);
  try {
    const reader = response.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        throwIfAborted(connection.signal);
        throw partialFailure(
          request,
          'network',
          `the connection was cut after ${received} of ${size ?? '?'} bytes (${(cause as Error).message})`,
          cause,
        );
      }
      if (chunk.done) break;
      hash.update(chunk.value);
      await onDisk(request, partial, () => handle.write(chunk.value));
      received += chunk.value.byteLength;
      request.onReceived?.(received);
    }
  } catch (error) {
    await handle.close();
    // A full or read-only disk: free what was written. An abort keeps the part for the next run.
    if (ModelDownloadError.isInstance(error) && error.reason === 'disk')
      await rm(partial, { force: true });
    throw error;
  }
  await handle.close();
  if (size !== undefined && received < size) {
    throw partialFailure(
      request,
      'incomplete',
      `the body ended after ${received} of ${size} bytes`,
    );
  }
  const actual = hash.digest('hex');
  if ((size !== undefined && received > size) || actual !== digest.hex) {
    await rm(partial, { force: true });
    const error = integrityError(request.ref, sibling.path, url, digest, actual, received);
    // A resumed part may be what was wrong: the next attempt starts from scratch.
    throw resumed ? new RetryableFailure(error) : error;
  }
  const blob = join(blobsDir, digest.hex);
  await onDisk(request, blob, () => rename(partial, blob));
  return blob;
}

/** A part that already holds every byte (a run stopped before the rename): the blob, or undefined. */
async function completePart(
  request: HubBlobRequest,
  known: ExpectedDigest,
): Promise<string | undefined> {
  const partial = join(request.blobsDir, `${known.hex}.incomplete`);
  const size = request.sibling.size;
  if (size === undefined || !existsSync(partial) || (await stat(partial)).size !== size)
    return undefined;
  const hash = createHash(known.algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (known.algorithm === 'git-sha1') hash.update(gitBlobHeader(size));
  await hashExisting(partial, chunk => hash.update(chunk));
  if (hash.digest('hex') !== known.hex) {
    await rm(partial, { force: true });
    return undefined;
  }
  const blob = join(request.blobsDir, known.hex);
  await onDisk(request, blob, () => rename(partial, blob));
  request.onReceived?.(size);
  return blob;
}

/**
 * Downloads one repository file into the cache's blob folder, verified against the hub's sha256 (LFS oid)
 * or git blob id, and returns the blob's path (named by its digest). The bytes go to a `*.incomplete` part
 * that is renamed only once verified; a cut connection or a short body keeps the part and resumes it with
 * an HTTP Range request (up to `retries` times here, else on the next run); a hash mismatch or a disk error
 * deletes it. Node only.
 *
 * @throws ModelDownloadError (unauthorized, server, network, incomplete, integrity, disk);
 *   ModelNotFoundError on HTTP 404
 */
export async function downloadHubBlob(request: HubBlobRequest): Promise<string> {
  const known = expectedDigest(request.sibling);
  const cached = async () => {
    if (!known || !existsSync(join(request.blobsDir, known.hex))) return undefined;
    request.onReceived?.(request.sibling.size ?? 0);
    return join(request.blobsDir, known.hex);
  };
  const done = await cached();
  if (done) return done;
  // One process at a time per file (parallel test workers, two CLIs): the others wait for its blob.
  await onDisk(request, request.blobsDir, () => mkdir(request.blobsDir, { recursive: true }));
  const release = await lockPart(request, join(request.blobsDir, known?.hex ?? request.partName));
  try {
    return (await cached()) ?? (await download(request, known));
  } finally {
    await release().catch(() => {});
  }
}

const LOCK_POLL_MS = 200;

/**
 * Takes the lock of a part (`{part}.lock`, proper-lockfile: refreshed while held, stale after 30 s without
 * a refresh, so a crashed process does not block the others), waiting while another process holds it.
 */
async function lockPart(request: HubBlobRequest, part: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      return await lockfile.lock(part, {
        realpath: false,
        stale: 30_000,
        update: 10_000,
        // A lost lock only means another process may write the same part; the hash check still guards it.
        onCompromised: () => {},
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        await onDisk(request, `${part}.lock`, () => Promise.reject(error));
      }
      throwIfAborted(request.connection.signal);
      await new Promise(resolve => setTimeout(resolve, LOCK_POLL_MS));
    }
  }
}

async function download(
  request: HubBlobRequest,
  known: ExpectedDigest | undefined,
): Promise<string> {
  const complete = known && (await completePart(request, known));
  if (complete) return complete;
  const retries = request.retries ?? 2;
  for (let attemptIndex = 0; ; attemptIndex++) {
    try {
      return await attempt(request, known);
    } catch (error) {
      if (!(error instanceof RetryableFailure)) throw error;
      if (attemptIndex >= retries) throw error.error;
      throwIfAborted(request.connection.signal);
    }
  }
}
