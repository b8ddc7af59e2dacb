import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelDownloadError, ModelNotFoundError } from '@decodekit/core';
import { type HubConnection, fetchHubRevision, hubEndpoint, hubFileUrl } from './hub-api.js';
import { downloadHubBlob } from './hub-download-node.js';
import { type HubFileSelection, parseHubDtype, selectHubFiles } from './hub-files.js';
import { isCommitHash, parseHubId } from './hub-id.js';

/** Progress of a whole model's download (one bar for every file). */
export interface HubDownloadProgress {
  readonly ref: string;
  /** The file being downloaded now (repository path). */
  readonly file: string;
  /** Bytes of the whole model on disk so far (cached and resumed bytes included). */
  readonly received: number;
  /** Bytes of the whole model (from the hub listing). */
  readonly total: number;
  readonly done: boolean;
}

/** Options of {@link resolveHubModel}. */
export interface ResolveHubModelOptions extends HubConnection {
  /** The cache folder; hub models live under `{cacheDir}/hub/{org}/{name}`. */
  readonly cacheDir: string;
  /** Graph dtype by transformers.js naming (default `fp32`: `onnx/model.onnx`). */
  readonly dtype?: string;
  /** Folder inside the repository holding the model. */
  readonly subfolder?: string;
  /** Never touch the network; answer from the cache or fail naming where it looked. */
  readonly offline?: boolean;
  readonly onProgress?: (progress: HubDownloadProgress) => void;
  /** Extra attempts per file after a cut connection, each resuming with HTTP Range (default 2). */
  readonly retries?: number;
  /** Places already looked at (listed in a ModelNotFoundError). */
  readonly searched?: readonly string[];
}

/** A hub model in the cache: a folder laid out like the repository, pinned to a commit. */
export interface HubModel {
  readonly id: string;
  /** The revision asked for. */
  readonly revision: string;
  /** The commit it resolved to (what the cache records). */
  readonly commit: string;
  readonly layout: HubFileSelection['layout'];
  readonly dtype?: string;
  /** Repository path of the picked graph (e.g. `onnx/model_q4.onnx`). */
  readonly graph: string;
  /**
   * The model folder: the selected files at their repository paths (below `subfolder`), with the picked
   * graph also at `onnx/model.onnx` (a split pair at `onnx/decoder_model.onnx` + `onnx/decoder_with_past_model.onnx`,
   * an encoder at `onnx/encoder_model.onnx`) when it has another name, so that any loader reading that path gets it.
   */
  readonly folder: string;
  /** Repository paths of the files in the folder. */
  readonly files: readonly string[];
}

/** Where loaders look for an encoder-decoder export's encoder. */
const ENCODER_PATH = 'onnx/encoder_model.onnx';
/** Where loaders look for a split decoder pair (the empty-cache graph, then the with-past graph). */
const PAIR_PATHS = ['onnx/decoder_model.onnx', 'onnx/decoder_with_past_model.onnx'] as const;

/**
 * The picked files loaders would not find under their own names, each with the path loaders read: a graph of
 * another dtype goes to `onnx/model.onnx`, a split pair of another dtype to `onnx/decoder_model.onnx` +
 * `onnx/decoder_with_past_model.onnx`, an encoder of another dtype to `onnx/encoder_model.onnx`. Paths are
 * relative to the model folder. Empty for a genai folder and for files already at those paths.
 */
function canonicalCopies(
  selection: HubFileSelection,
  local: (path: string) => string,
): Array<[from: string, to: string]> {
  if (selection.layout === 'genai') return [];
  const graph = local(selection.graph);
  const isPair = selection.graph.includes('decoder_model') && !selection.graph.includes('merged');
  const copies: Array<[string, string]> = isPair
    ? [
        [graph, PAIR_PATHS[0]],
        [graph.replace('decoder_model', 'decoder_with_past_model'), PAIR_PATHS[1]],
      ]
    : [[graph, 'onnx/model.onnx']];
  if (selection.encoder !== undefined) copies.push([local(selection.encoder), ENCODER_PATH]);
  return copies.filter(([from, to]) => from !== to);
}
const MANIFEST = '.decodekit-hub.json';

function repoDir(cacheDir: string, id: string): string {
  return join(cacheDir, 'hub', ...id.split('/'));
}

function viewKey(dtype: string | undefined, subfolder: string | undefined): string {
  const sub = subfolder ? `${subfolder.replace(/^\/+|\/+$/g, '').replace(/\//g, '--')}--` : '';
  return `${sub}${dtype ?? 'fp32'}`;
}

function refPath(cacheDir: string, id: string, revision: string): string {
  return join(repoDir(cacheDir, id), 'refs', encodeURIComponent(revision));
}

async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes a small file atomically (temporary sibling + rename). */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

/** Hard-links a verified blob into a folder (a copy where links are not allowed). */
async function place(blob: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  try {
    await link(blob, target);
  } catch {
    await copyFile(blob, target);
  }
}

/** The cached model for `ref`, if its revision was resolved before and its files are complete. */
export async function findCachedHubModel(
  ref: string,
  options: Pick<ResolveHubModelOptions, 'cacheDir' | 'dtype' | 'subfolder'>,
): Promise<HubModel | undefined> {
  const { id, revision } = parseHubId(ref);
  if (options.dtype !== undefined) parseHubDtype(options.dtype);
  const commit = isCommitHash(revision)
    ? revision
    : (await readFile(refPath(options.cacheDir, id, revision), 'utf8').catch(() => '')).trim();
  if (!isCommitHash(commit)) return undefined;
  const folder = join(
    repoDir(options.cacheDir, id),
    'snapshots',
    commit,
    viewKey(options.dtype, options.subfolder),
  );
  const manifest = await readJsonFile<Omit<HubModel, 'folder' | 'revision'>>(
    join(folder, MANIFEST),
  );
  if (!manifest || manifest.commit !== commit) return undefined;
  return { ...manifest, revision, folder };
}

function listFolder(folder: string): string[] {
  const files: string[] = [];
  const visit = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) visit(join(dir, entry.name), `${prefix}${entry.name}/`);
      else files.push(`${prefix}${entry.name}`);
    }
  };
  visit(folder, '');
  return files;
}

/**
 * A model folder for `dtype` from a local folder laid out like a hub repository (a read-only mirror such as
 * `<mirror>/org/name/onnx/model_q4.onnx`, or a folder the user points at): the folder itself when it already
 * is one (an onnxruntime-genai folder, the fp32 graph at onnx/model.onnx, an fp32 split pair), else a folder
 * in the cache (`<cacheDir>/views/<hash of the path>/<dtype>`) that links the selected files, with the picked
 * graph (or split pair, or encoder) also where loaders look for it (`onnx/model.onnx`, `onnx/decoder_model.onnx` +
 * `onnx/decoder_with_past_model.onnx`, `onnx/encoder_model.onnx`). Undefined when the folder has no graph for `dtype`, unless `strict`, when
 * the ModelNotFoundError listing the dtypes it has is thrown.
 */
export async function folderForDtype(
  ref: string,
  mirrorDir: string,
  options: Pick<ResolveHubModelOptions, 'cacheDir' | 'dtype' | 'subfolder'> & { strict?: boolean },
): Promise<string | undefined> {
  let selection: HubFileSelection;
  try {
    selection = selectHubFiles(
      ref,
      listFolder(mirrorDir).map(path => ({ path })),
      options,
    );
  } catch (error) {
    if (ModelNotFoundError.isInstance(error) && !options.strict) return undefined;
    throw error;
  }
  const prefix = options.subfolder ? `${options.subfolder.replace(/^\/+|\/+$/g, '')}/` : '';
  const local = (path: string) =>
    prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path;
  const copies = canonicalCopies(selection, local);
  if (copies.length === 0) return join(mirrorDir, prefix);
  const key = createHash('sha256').update(mirrorDir).digest('hex').slice(0, 16);
  const folder = join(options.cacheDir, 'views', key, viewKey(options.dtype, options.subfolder));
  if (existsSync(join(folder, MANIFEST))) return folder;
  const staging = `${folder}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    for (const file of selection.files)
      await place(join(mirrorDir, file.path), join(staging, local(file.path)));
    for (const [from, to] of copies) await place(join(staging, from), join(staging, to));
    await writeFile(
      join(staging, MANIFEST),
      `${JSON.stringify({ ref, source: mirrorDir, layout: selection.layout, dtype: selection.dtype, graph: selection.graph, files: selection.files.map(file => file.path) }, null, 2)}\n`,
    );
    await mkdir(dirname(folder), { recursive: true });
    if (existsSync(folder)) await rm(folder, { recursive: true, force: true });
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return folder;
}

/**
 * Resolves a hub id (`org/name` or `org/name@revision`) to a model folder in the cache. A branch or tag is
 * resolved once to a commit through the hub API (recorded under `refs/`); the files for `dtype` are
 * downloaded (sha256 or git blob id checked on every file, atomic, resumable), and the folder is assembled
 * by hard links and renamed into place only when complete. Node only; the Node entry's `resolveModel` fills
 * the options from `HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE`/`DECODEKIT_OFFLINE`.
 *
 * @throws ModelNotFoundError (offline and not cached, unknown repo/revision/file, no graph for `dtype`);
 *   ModelDownloadError (unauthorized, server, network, incomplete, integrity, disk)
 */
export async function resolveHubModel(
  ref: string,
  options: ResolveHubModelOptions,
): Promise<HubModel> {
  const { id, revision } = parseHubId(ref);
  const cached = await findCachedHubModel(ref, options);
  if (cached) return cached;
  const endpoint = hubEndpoint(options);
  const cachePlace = `cache: ${join(repoDir(options.cacheDir, id), 'snapshots', isCommitHash(revision) ? revision : `<${revision}>`, viewKey(options.dtype, options.subfolder))}`;
  const searched = [...(options.searched ?? []), cachePlace];
  if (options.offline) {
    throw new ModelNotFoundError({
      ref,
      searched: [...searched, `hub: ${endpoint}/${id} (skipped: offline)`],
      hint: 'Offline mode is on (offline option, HF_HUB_OFFLINE or DECODEKIT_OFFLINE). Go online once to download it, or set DECODEKIT_MODELS to a mirror folder holding it.',
    });
  }

  const listing = await fetchHubRevision(id, revision, options, searched);
  const selection = selectHubFiles(ref, listing.siblings, {
    dtype: options.dtype,
    subfolder: options.subfolder,
  });
  const root = repoDir(options.cacheDir, id);
  const blobsDir = join(root, 'blobs');
  const total = selection.files.reduce((sum, file) => sum + (file.size ?? 0), 0);
  const receivedByFile = new Map<string, number>();
  const report = (file: string, done: boolean) => {
    const received = [...receivedByFile.values()].reduce((sum, bytes) => sum + bytes, 0);
    options.onProgress?.({ ref, file, received, total: Math.max(total, received), done });
  };

  const blobs: Array<[string, string]> = [];
  for (const sibling of selection.files) {
    const url = hubFileUrl(endpoint, id, listing.commit, sibling.path);
    const blob = await downloadHubBlob({
      ref,
      sibling,
      url,
      blobsDir,
      partName: `${listing.commit}--${sibling.path.replace(/\//g, '--')}`,
      connection: options,
      retries: options.retries,
      onReceived: received => {
        receivedByFile.set(sibling.path, received);
        report(sibling.path, false);
      },
    });
    blobs.push([sibling.path, blob]);
  }

  const prefix = options.subfolder ? `${options.subfolder.replace(/^\/+|\/+$/g, '')}/` : '';
  const local = (path: string) =>
    prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path;
  const folder = join(root, 'snapshots', listing.commit, viewKey(options.dtype, options.subfolder));
  const staging = `${folder}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const model: HubModel = {
    id,
    revision,
    commit: listing.commit,
    layout: selection.layout,
    dtype: selection.dtype,
    graph: selection.graph,
    folder,
    files: blobs.map(([path]) => path),
  };
  try {
    for (const [path, blob] of blobs) await place(blob, join(staging, local(path)));
    // Graphs of another dtype are also placed where loaders look for them.
    for (const [from, to] of canonicalCopies(selection, local))
      await place(join(staging, from), join(staging, to));
    const { folder: _folder, revision: _revision, ...manifest } = model;
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await mkdir(dirname(folder), { recursive: true });
    if (existsSync(join(folder, MANIFEST))) {
      // Another process finished the same folder first: keep its copy (it may be in use).
      await rm(staging, { recursive: true, force: true });
    } else {
      if (existsSync(folder)) await rm(folder, { recursive: true, force: true });
      await rename(staging, folder);
    }
    if (!isCommitHash(revision))
      await writeAtomic(refPath(options.cacheDir, id, revision), `${listing.commit}\n`);
  } catch (cause) {
    await rm(staging, { recursive: true, force: true });
    const code = (cause as NodeJS.ErrnoException).code;
    if (!code) throw cause;
    throw new ModelDownloadError({
      ref,
      file: selection.graph,
      url: `${endpoint}/${id}`,
      reason: 'disk',
      message: `the cache refused to assemble the model folder ${folder} (${code}). Free disk space or make the folder writable, or point the cache elsewhere (cacheDir option, DECODEKIT_CACHE).`,
      cause,
    });
  }
  report(selection.graph, true);
  return model;
}
