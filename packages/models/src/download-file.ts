import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ModelFormatError, throwIfAborted } from '@decodekit/core';

/** Progress of one download. */
export interface DownloadProgress {
  readonly file: string;
  readonly url: string;
  readonly received: number;
  /** From Content-Length (or the pinned size) when known. */
  readonly total?: number;
  readonly done: boolean;
  /**
   * Set for hub downloads: the model id, and then `received`/`total` count the whole model (every file),
   * so one bar shows it; `file` is the file being fetched now.
   */
  readonly model?: string;
}

/** What {@link downloadFile} needs. */
export interface DownloadRequest {
  readonly url: string;
  readonly destination: string;
  /** Expected sha256 (hex); a mismatch deletes the download and throws ModelFormatError. */
  readonly sha256?: string;
  readonly expectedBytes?: number;
  readonly fetch: typeof globalThis.fetch;
  readonly onProgress?: (progress: DownloadProgress) => void;
  readonly signal?: AbortSignal;
}

/** A failed HTTP request (the resolver reports it and goes on). */
export class DownloadFailure extends Error {}

/**
 * Downloads `url` to `destination` atomically (a temporary sibling file renamed into place after the
 * sha256 check), reporting progress per chunk.
 *
 * @throws DownloadFailure on network or HTTP errors; ModelFormatError on a sha256 mismatch
 */
export async function downloadFile(request: DownloadRequest): Promise<void> {
  const { url, destination, signal } = request;
  const file = destination.split(/[\\/]/).at(-1) ?? destination;
  let response: Response;
  try {
    response = await request.fetch(url, { signal, redirect: 'follow' });
  } catch (cause) {
    throwIfAborted(signal);
    throw new DownloadFailure(`${(cause as Error).message ?? String(cause)}`, { cause });
  }
  if (!response.ok || !response.body) {
    throw new DownloadFailure(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  const header = Number(response.headers.get('content-length'));
  const total = Number.isFinite(header) && header > 0 ? header : request.expectedBytes;
  await mkdir(dirname(destination), { recursive: true });
  const temp = `${destination}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  const out = createWriteStream(temp);
  let received = 0;
  try {
    const reader = response.body.getReader();
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.byteLength;
      if (!out.write(value)) await new Promise<void>(resolve => out.once('drain', () => resolve()));
      request.onProgress?.({ file, url, received, total, done: false });
    }
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    const digest = hash.digest('hex');
    if (request.sha256 && digest !== request.sha256) {
      throw new ModelFormatError({
        path: url,
        message:
          `sha256 mismatch: expected ${request.sha256} but the ${received} downloaded bytes hash to ${digest}. ` +
          'The download was corrupted or the file changed upstream; try again, or place a verified copy in a DECODEKIT_MODELS mirror.',
      });
    }
    await rename(temp, destination);
    request.onProgress?.({ file, url, received, total, done: true });
  } finally {
    out.destroy();
    await rm(temp, { force: true });
  }
}
