import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';

/** A repository served by {@link startLocalHub}. */
export interface LocalHubRepo {
  /** Files by repository path; a folder is read recursively. */
  readonly files: Readonly<Record<string, Uint8Array | string>> | string;
  /** When set, the repository is gated: every request needs `Authorization: Bearer {token}`. */
  readonly token?: string;
  /** Other branch or tag names that point at the same commit as `main`. */
  readonly branches?: readonly string[];
  /**
   * Answer `?blobs=true` with sizes, blob ids and LFS sha256 (default true). A hub or mirror that does
   * not leaves clients to the download headers (`X-Linked-Etag`, `X-Linked-Size`, `ETag`).
   */
  readonly listBlobs?: boolean;
}

/** A failure injected into the download of one file (its bytes, not its listing). */
export interface LocalHubFault {
  readonly path: string;
  /**
   * `status`: answer HTTP `status`; `truncate`: a chunked body that ends cleanly after half the bytes;
   * `cut`: announce the full length, send `afterBytes` and destroy the socket; `corrupt`: flip one byte;
   * `stall`: announce the full length, send `afterBytes` and then nothing until the client gives up (tests of
   * abort and cancel).
   */
  readonly kind: 'status' | 'truncate' | 'cut' | 'corrupt' | 'stall';
  readonly status?: number;
  readonly afterBytes?: number;
  /** How many requests it hits (default: all). */
  times?: number;
}

/** One request the hub saw. */
export interface LocalHubRequest {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly authorization?: string;
}

/** A running local hub. */
export interface LocalHub {
  /** `http://127.0.0.1:{port}`: pass as `endpoint` (or `HF_ENDPOINT`). */
  readonly endpoint: string;
  readonly requests: LocalHubRequest[];
  readonly faults: LocalHubFault[];
  /** The commit `main` of `id` points at. */
  commitOf(id: string): string;
  /** Replaces a repository's files (a new commit on `main`). */
  update(id: string, repo: LocalHubRepo): void;
  close(): Promise<void>;
}

interface ServedFile {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly blobId: string;
  readonly lfs: boolean;
}

interface ServedRepo {
  readonly commit: string;
  readonly listBlobs: boolean;
  readonly token?: string;
  readonly branches: readonly string[];
  readonly files: ReadonlyMap<string, ServedFile>;
}

/**
 * The CORS headers huggingface.co sends on its API, `resolve` and LFS/CDN answers, so browser code (the
 * playground, Cache Storage resolution) can read bodies and the hub's own headers from any origin.
 */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag,X-Xet-Hash',
} as const;

/** Files bigger than this, and every `.onnx*` file, are served as LFS files (redirect, sha256 ETag). */
const LFS_THRESHOLD = 10_000;

function readFolder(folder: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else files[relative(folder, path).split(sep).join('/')] = new Uint8Array(readFileSync(path));
    }
  };
  visit(folder);
  return files;
}

function serveRepo(repo: LocalHubRepo): ServedRepo {
  const source = typeof repo.files === 'string' ? readFolder(repo.files) : repo.files;
  const files = new Map<string, ServedFile>();
  const tree = createHash('sha1');
  for (const [path, content] of Object.entries(source).sort(([a], [b]) => a.localeCompare(b))) {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const blobId = createHash('sha1')
      .update(`blob ${bytes.byteLength}\0`)
      .update(bytes)
      .digest('hex');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    files.set(path, {
      bytes,
      sha256,
      blobId,
      lfs: bytes.byteLength > LFS_THRESHOLD || /\.onnx/.test(path),
    });
    tree.update(`${path}\0${blobId}\n`);
  }
  return {
    commit: tree.digest('hex'),
    listBlobs: repo.listBlobs ?? true,
    token: repo.token,
    branches: ['main', ...(repo.branches ?? [])],
    files,
  };
}

function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d+)-(\d*)$/.exec(header);
  if (!match) return 'invalid';
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  return start < size && start <= end ? { start, end } : 'invalid';
}

/**
 * Starts a Hugging Face-compatible hub on 127.0.0.1 (a random port) for tests: the revision API
 * (`/api/models/{id}/revision/{rev}` with `sha` and `siblings`, `?blobs=true` adding sizes, blob ids and
 * LFS sha256), and `/{id}/resolve/{rev}/{path}`, which answers small files directly (`ETag` = git blob id)
 * and redirects LFS files to a content URL (`X-Linked-Etag` = sha256, `X-Linked-Size`) that honours HTTP
 * Range. Gated repositories answer 401 without the right bearer token. Every answer carries the hub's CORS
 * headers and preflights are answered, so browsers can use it too. `faults` injects failures.
 */
export async function startLocalHub(
  repos: Readonly<Record<string, LocalHubRepo>>,
): Promise<LocalHub> {
  const served = new Map(Object.entries(repos).map(([id, repo]) => [id, serveRepo(repo)]));
  const requests: LocalHubRequest[] = [];
  const faults: LocalHubFault[] = [];

  const authorized = (repo: ServedRepo, request: IncomingMessage) =>
    !repo.token || request.headers.authorization === `Bearer ${repo.token}`;

  const takeFault = (path: string): LocalHubFault | undefined => {
    const fault = faults.find(candidate => candidate.path === path && (candidate.times ?? 1) > 0);
    if (fault && fault.times !== undefined) fault.times--;
    return fault;
  };

  const sendError = (response: ServerResponse, status: number, message: string) => {
    response.writeHead(status, { 'content-type': 'application/json', 'x-error-message': message });
    response.end(JSON.stringify({ error: message }));
  };

  const sendBytes = (
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    file: ServedFile,
    headers: Record<string, string>,
  ) => {
    const fault = takeFault(path);
    if (fault?.kind === 'status')
      return sendError(response, fault.status ?? 500, 'injected failure');
    let bytes = file.bytes;
    if (fault?.kind === 'corrupt') {
      bytes = bytes.slice();
      bytes[bytes.length >> 1] ^= 0xff;
    }
    const range = parseRange(request.headers.range, bytes.byteLength);
    if (range === 'invalid') {
      response.writeHead(416, { 'content-range': `bytes */${bytes.byteLength}` });
      return response.end();
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? bytes.byteLength - 1;
    const body = bytes.subarray(start, end + 1);
    const common = {
      ...headers,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    };
    const status = range ? 206 : 200;
    const rangeHeaders: Record<string, string> = range
      ? { 'content-range': `bytes ${start}-${end}/${bytes.byteLength}` }
      : {};
    if (fault?.kind === 'truncate') {
      response.writeHead(status, { ...common, ...rangeHeaders }); // chunked: no length to hold the body to
      return response.end(body.subarray(0, body.byteLength >> 1));
    }
    response.writeHead(status, {
      ...common,
      ...rangeHeaders,
      'content-length': String(body.byteLength),
    });
    if (fault?.kind === 'stall') {
      response.write(
        body.subarray(0, Math.min(fault.afterBytes ?? body.byteLength >> 1, body.byteLength - 1)),
      );
      return;
    }
    if (fault?.kind === 'cut') {
      response.write(
        body.subarray(0, Math.min(fault.afterBytes ?? body.byteLength >> 1, body.byteLength - 1)),
        () => setTimeout(() => response.socket?.destroy(), 20),
      );
      return;
    }
    response.end(body);
  };

  const findRevision = (id: string, revision: string) => {
    const repo = served.get(id);
    if (!repo) return undefined;
    return repo.branches.includes(revision) || revision === repo.commit ? repo : undefined;
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    requests.push({
      method: request.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      range: request.headers.range,
      authorization: request.headers.authorization,
    });
    for (const [name, value] of Object.entries(CORS_HEADERS)) response.setHeader(name, value);
    if (request.method === 'OPTIONS') {
      // A CORS preflight (a browser sending Authorization or Range): allow what it asks for.
      response.writeHead(204, {
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers':
          request.headers['access-control-request-headers'] ?? 'authorization, range',
        'access-control-max-age': '86400',
      });
      return response.end();
    }

    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) {
      const [, id, revision] = api;
      const repo = served.get(id);
      if (repo && !authorized(repo, request))
        return sendError(response, 401, 'Invalid credentials in Authorization header');
      const found = findRevision(id, revision);
      if (!found) return sendError(response, 404, 'Repository or revision not found');
      const blobs = found.listBlobs && url.searchParams.get('blobs') === 'true';
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(
        JSON.stringify({
          id,
          modelId: id,
          sha: found.commit,
          gated: found.token ? 'manual' : false,
          siblings: [...found.files].map(([rfilename, file]) =>
            blobs
              ? {
                  rfilename,
                  size: file.bytes.byteLength,
                  blobId: file.blobId,
                  ...(file.lfs
                    ? {
                        lfs: { sha256: file.sha256, size: file.bytes.byteLength, pointerSize: 134 },
                      }
                    : {}),
                }
              : { rfilename },
          ),
        }),
      );
    }

    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const [, id, revision, filePath] = resolve;
      const repo = served.get(id);
      if (repo && !authorized(repo, request))
        return sendError(response, 401, 'Invalid credentials in Authorization header');
      const found = findRevision(id, revision);
      const file = found?.files.get(filePath);
      if (!found || !file) return sendError(response, 404, 'Entry not found');
      const headers = { 'x-repo-commit': found.commit };
      if (file.lfs) {
        response.writeHead(302, {
          ...headers,
          location: `/__lfs/${file.sha256}`,
          'x-linked-etag': `"${file.sha256}"`,
          'x-linked-size': String(file.bytes.byteLength),
          etag: `"${file.blobId}"`,
        });
        return response.end();
      }
      return sendBytes(request, response, filePath, file, { ...headers, etag: `"${file.blobId}"` });
    }

    const lfs = /^\/__lfs\/([0-9a-f]{64})$/.exec(path);
    if (lfs) {
      for (const repo of served.values()) {
        for (const [filePath, file] of repo.files) {
          if (file.sha256 === lfs[1])
            return sendBytes(request, response, filePath, file, { etag: `"${file.sha256}"` });
        }
      }
    }
    sendError(response, 404, 'Not found');
  });

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    faults,
    commitOf: id => {
      const repo = served.get(id);
      if (repo === undefined) {
        throw new InvalidArgumentError({
          argument: 'id',
          message: `the local hub serves no repository "${id}": pass an id given to startLocalHub or update.`,
        });
      }
      return repo.commit;
    },
    update: (id, repo) => served.set(id, serveRepo(repo)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close(error => (error ? reject(error) : resolve()));
      }),
  };
}
