import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import {
  InvalidArgumentError,
  invariant,
  ModelDownloadError,
  ModelFormatError,
  ModelNotFoundError,
} from '@decodekit/core';
import { convertLlama2c } from './convert-llama2c.js';
import { DownloadFailure, type DownloadProgress, downloadFile } from './download-file.js';
import { CONVERTER_VERSION } from './hf-config.js';
import { type KnownFile, type KnownModel, KNOWN_MODELS, findKnownModel } from './known-models.js';
import { hubEndpoint } from './hub-api.js';
import { parseHubDtype } from './hub-files.js';
import { isHubId, parseHubId } from './hub-id.js';
import { findLlama2cFiles, isModelFolder, validateModelFolder } from './model-folder.js';
import { findCachedHubModel, folderForDtype, resolveHubModel } from './resolve-hub-model.js';
import { stderrProgressBar } from './progress-bar.js';
import { writeModelFolder } from './write-model-folder.js';

/** Options of {@link resolveModel}. */
export interface ResolveModelOptions {
  /** Cache folder (default `$DECODEKIT_CACHE`, else `~/.cache/decodekit`). */
  readonly cacheDir?: string;
  /** Read-only mirror folders repeating hub paths (default `$DECODEKIT_MODELS`, path-delimiter separated). */
  readonly mirrors?: readonly string[];
  /** Never download (default: `$HF_HUB_OFFLINE` or `$DECODEKIT_OFFLINE` set to 1/true/yes/on). */
  readonly offline?: boolean;
  /**
   * Graph dtype of a hub model, by transformers.js file naming: `fp32` (`onnx/model.onnx`, the default),
   * `fp16`, `q8` (`model_quantized.onnx`), `int8`, `uint8`, `q4`, `q4f16`, `bnb4`.
   */
  readonly dtype?: string;
  /** Folder inside a hub repository holding the model (repos with several onnxruntime-genai folders). */
  readonly subfolder?: string;
  /** Hub base URL (default `$HF_ENDPOINT`, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Access token for gated or private hub repositories (default `$HF_TOKEN`). */
  readonly token?: string;
  /** Extra attempts per file after a cut connection, each resuming with HTTP Range (default 2). */
  readonly retries?: number;
  /** The fetch used for downloads (default `globalThis.fetch`); tests inject a fake. */
  readonly fetch?: typeof globalThis.fetch;
  /** Download progress; default: a cli-progress bar on stderr. */
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Convert llama2.c checkpoints to the plain graph (standard I/O only) instead of the extended one. */
  readonly plain?: boolean;
  readonly signal?: AbortSignal;
}

/** The cache folder used when none is given: `$DECODEKIT_CACHE` or `~/.cache/decodekit`. */
export function defaultCacheDir(): string {
  return resolve(process.env.DECODEKIT_CACHE || join(homedir(), '.cache', 'decodekit'));
}

function envFlag(value: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test(value ?? '');
}

/**
 * Hub settings from the environment: `HF_ENDPOINT`, `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`) and
 * offline mode from `HF_HUB_OFFLINE` or `DECODEKIT_OFFLINE`. Only the Node entry reads these; the library
 * functions take them as options.
 */
export function hubOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): {
  endpoint?: string;
  token?: string;
  offline: boolean;
} {
  return {
    endpoint: env.HF_ENDPOINT || undefined,
    token: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    offline: envFlag(env.HF_HUB_OFFLINE) || envFlag(env.DECODEKIT_OFFLINE),
  };
}

/** The mirror folders from `$DECODEKIT_MODELS`. */
export function defaultMirrors(): string[] {
  return (process.env.DECODEKIT_MODELS ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map(mirror => resolve(mirror));
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function looksLikePath(ref: string): boolean {
  return isAbsolute(ref) || /^(\.{1,2}|~)([\\/]|$)/.test(ref) || /^[A-Za-z]:[\\/]/.test(ref);
}

function variant(plain: boolean): string {
  return plain ? '@plain' : '';
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** A cached conversion is reusable when it is complete and made by this converter version. */
async function isCurrentConversion(dir: string): Promise<boolean> {
  if (!isModelFolder(dir)) return false;
  try {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
      decodekit?: { converter?: number };
    };
    return config.decodekit?.converter === CONVERTER_VERSION;
  } catch {
    return false;
  }
}

async function convertInto(
  target: string,
  checkpoint: string,
  tokenizer: string,
  name: string,
  plain: boolean,
): Promise<string> {
  const [checkpointBytes, tokenizerBytes] = await Promise.all([
    readFile(checkpoint),
    readFile(tokenizer),
  ]);
  const { files } = convertLlama2c({
    checkpoint: new Uint8Array(checkpointBytes),
    tokenizer: new Uint8Array(tokenizerBytes),
    plain,
    name,
    checkpointPath: checkpoint,
    tokenizerPath: tokenizer,
  });
  const stale = isModelFolder(target);
  return writeModelFolder(target, files, { overwrite: stale, keepExisting: !stale });
}

/** The file a llama2.c checkpoint folder without a tokenizer uses to name the known model whose tokenizer it shares. */
export const LLAMA2C_MANIFEST = 'llama2c.json';

/**
 * The tokenizer file of a known model: from a mirror or the cache (sha256-checked), else downloaded (pinned URL).
 * @throws ModelNotFoundError offline or when the download fails
 */
async function knownTokenizerFile(
  known: KnownModel,
  cacheDir: string,
  options: ResolveModelOptions,
  searched: string[],
): Promise<string> {
  const mirrors = (options.mirrors ?? defaultMirrors()).map(mirror => resolve(mirror));
  for (const mirror of mirrors) {
    const file = join(mirror, ...known.mirrorPath.split('/'), known.tokenizer.file);
    searched.push(`mirror: ${file}`);
    if (!existsSync(file)) continue;
    await verifyFile(file, known.tokenizer);
    return file;
  }
  const cached = join(cacheDir, 'downloads', ...known.ref.split('/'), known.tokenizer.file);
  if (existsSync(cached) && (await sha256File(cached)) === known.tokenizer.sha256) return cached;
  searched.push(`cache: ${cached}`);
  if (options.offline) {
    searched.push(`download: ${known.tokenizer.url} (skipped: offline)`);
    throw new ModelNotFoundError({
      ref: `${known.ref} (tokenizer)`,
      searched,
      hint: 'Offline mode is on. Go online, or set DECODEKIT_MODELS to a mirror folder holding the tokenizer.',
    });
  }
  try {
    await downloadFile({
      url: known.tokenizer.url,
      destination: cached,
      sha256: known.tokenizer.sha256,
      expectedBytes: known.tokenizer.bytes,
      fetch: options.fetch ?? globalThis.fetch,
      onProgress: options.onProgress,
      signal: options.signal,
    });
  } catch (error) {
    if (!(error instanceof DownloadFailure)) throw error;
    searched.push(`download: ${known.tokenizer.url} (failed: ${error.message})`);
    throw new ModelNotFoundError({
      ref: `${known.ref} (tokenizer)`,
      searched,
      hint: 'The download failed. Check your connection, or set DECODEKIT_MODELS to a mirror folder holding the tokenizer.',
    });
  }
  return cached;
}

/**
 * The llama2.c files of a folder: its checkpoint and tokenizer, or — when it holds a checkpoint and a
 * `llama2c.json` `{ "tokenizer": "<known model id>" }` instead of a tokenizer — the known model's tokenizer
 * (a draft trained for that model, e.g. FastDraft's, ships without a copy of it).
 */
async function llama2cFilesOf(
  dir: string,
  cacheDir: string,
  options: ResolveModelOptions,
): Promise<{ checkpoint: string; tokenizer: string } | undefined> {
  const found = await findLlama2cFiles(dir);
  if (found) return found;
  const manifestPath = join(dir, LLAMA2C_MANIFEST);
  if (!existsSync(manifestPath)) return undefined;
  let manifest: { tokenizer?: unknown };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { tokenizer?: unknown };
  } catch (cause) {
    throw new ModelFormatError({
      path: manifestPath,
      message: `is not valid JSON (${(cause as Error).message}); it must read {"tokenizer": "<known model id>"}.`,
      cause,
    });
  }
  const known =
    typeof manifest.tokenizer === 'string' ? findKnownModel(manifest.tokenizer) : undefined;
  if (!known) {
    throw new ModelFormatError({
      path: manifestPath,
      message: `names the tokenizer of ${JSON.stringify(manifest.tokenizer)}, which is not a known model (known: ${KNOWN_MODELS.map(model => model.ref).join(', ')}). Put that model's tok*.bin beside the checkpoint instead.`,
    });
  }
  const checkpoints = (await readdir(dir)).filter(name => name.endsWith('.bin'));
  if (checkpoints.length !== 1) {
    throw new ModelFormatError({
      path: dir,
      message: `has ${LLAMA2C_MANIFEST} but ${checkpoints.length} *.bin files; it must hold exactly one llama2.c checkpoint.`,
    });
  }
  const tokenizer = await knownTokenizerFile(known, cacheDir, options, [`folder: ${dir}`]);
  return { checkpoint: join(dir, checkpoints[0]), tokenizer };
}

/** Converts a folder's llama2.c files into the cache, keyed by the sha256 of the inputs. */
async function convertLocal(
  dir: string,
  cacheDir: string,
  plain: boolean,
  options: ResolveModelOptions = {},
): Promise<string | undefined> {
  const found = await llama2cFilesOf(dir, cacheDir, options);
  if (!found) return undefined;
  const key = createHash('sha256')
    .update(await sha256File(found.checkpoint))
    .update(await sha256File(found.tokenizer))
    .update(`v${CONVERTER_VERSION}${variant(plain)}`)
    .digest('hex')
    .slice(0, 16);
  const target = join(cacheDir, 'converted', `${basename(dir)}-${key}`);
  if (await isCurrentConversion(target)) return target;
  return convertInto(target, found.checkpoint, found.tokenizer, basename(dir), plain);
}

async function resolveFolder(
  dir: string,
  cacheDir: string,
  plain: boolean,
  options: ResolveModelOptions,
): Promise<string> {
  if (isModelFolder(dir)) return validateModelFolder(dir);
  const converted = await convertLocal(dir, cacheDir, plain, options);
  if (converted) return converted;
  throw new ModelFormatError({
    path: dir,
    message:
      'is neither a model folder (config.json, tokenizer.json, onnx/model.onnx) nor a llama2.c folder ' +
      `(one checkpoint *.bin and a tok*.bin tokenizer, or a ${LLAMA2C_MANIFEST} naming a known model's tokenizer). Point to a model folder or convert the model first.`,
  });
}

async function verifyFile(path: string, file: KnownFile): Promise<void> {
  const digest = await sha256File(path);
  if (digest !== file.sha256) {
    throw new ModelFormatError({
      path,
      message: `sha256 is ${digest} but ${file.file} must hash to ${file.sha256}. Replace it with the pinned file (${file.url}).`,
    });
  }
}

async function download(
  known: KnownModel,
  cacheDir: string,
  options: ResolveModelOptions,
  searched: string[],
): Promise<string[]> {
  const folder = join(cacheDir, 'downloads', ...known.ref.split('/'));
  const fetch = options.fetch ?? globalThis.fetch;
  const bar = options.onProgress ? undefined : stderrProgressBar();
  const paths: string[] = [];
  try {
    for (const file of [known.checkpoint, known.tokenizer]) {
      const destination = join(folder, file.file);
      paths.push(destination);
      if (existsSync(destination) && (await sha256File(destination)) === file.sha256) continue;
      try {
        await downloadFile({
          url: file.url,
          destination,
          sha256: file.sha256,
          expectedBytes: file.bytes,
          fetch,
          onProgress: options.onProgress ?? bar?.onProgress,
          signal: options.signal,
        });
      } catch (error) {
        if (!(error instanceof DownloadFailure)) throw error;
        searched.push(`download: ${file.url} (failed: ${error.message})`);
        throw new ModelNotFoundError({
          ref: known.ref,
          searched,
          hint: 'The download failed. Check your connection, or set DECODEKIT_MODELS to a mirror folder holding the files.',
        });
      }
    }
  } finally {
    bar?.stop();
  }
  return paths;
}

/**
 * Finds or makes a ready model folder for `ref` and returns its absolute path. Order: an explicit folder
 * (a model folder as is, or a llama2.c folder converted once into the cache); the cache; the read-only
 * mirrors; a pinned, sha256-checked download of a known model. llama2.c files are converted into the cache,
 * never beside their sources. Node only.
 *
 * @throws ModelNotFoundError naming every place looked at; ModelFormatError for broken or mismatched files
 */
export async function resolveModel(
  ref: string,
  resolveOptions: ResolveModelOptions = {},
): Promise<string> {
  const fromEnv = hubOptionsFromEnv();
  const options: ResolveModelOptions = {
    ...resolveOptions,
    endpoint: resolveOptions.endpoint ?? fromEnv.endpoint,
    token: resolveOptions.token ?? fromEnv.token,
    offline: resolveOptions.offline ?? fromEnv.offline,
  };
  if (options.dtype !== undefined) parseHubDtype(options.dtype);
  const plain = options.plain ?? false;
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const mirrors = (options.mirrors ?? defaultMirrors()).map(mirror => resolve(mirror));
  const expanded = ref.startsWith('~') ? join(homedir(), ref.slice(1)) : ref;
  if (looksLikePath(ref) || isDirectory(resolve(expanded))) {
    const dir = resolve(expanded);
    if (!isDirectory(dir)) {
      throw new ModelNotFoundError({
        ref,
        searched: [`folder: ${dir}`],
        hint: 'No folder exists at that path; check it.',
      });
    }
    if ((options.dtype !== undefined && options.dtype !== 'fp32') || options.subfolder) {
      // A folder laid out like a hub repository: pick the dtype's graph the same way.
      const view = await folderForDtype(ref, dir, {
        cacheDir,
        dtype: options.dtype,
        subfolder: options.subfolder,
        strict: true,
      });
      invariant(view !== undefined, 'folderForDtype with strict: true returns a folder or throws');
      return view;
    }
    return resolveFolder(dir, cacheDir, plain, options);
  }

  const known = findKnownModel(ref);
  if (known && options.dtype !== undefined && options.dtype !== 'fp32') {
    throw new InvalidArgumentError({
      argument: 'dtype',
      message: `"${known.ref}" is a llama2.c checkpoint that decodekit converts to fp32 only; drop the dtype (--dtype) or pick a hub id with a ${options.dtype} export.`,
    });
  }
  const id = known?.ref ?? ref;
  const searched: string[] = [`folder: ${resolve(expanded)} (not a folder)`];
  const cached = join(cacheDir, 'models', ...id.split('/')) + variant(plain);
  if (await isCurrentConversion(cached)) return validateModelFolder(cached);
  if (!known && isModelFolder(cached)) return validateModelFolder(cached);
  searched.push(`cache: ${cached}`);
  const hubId = !known && isHubId(ref);
  if (hubId) {
    const hubCached = await findCachedHubModel(ref, {
      cacheDir,
      dtype: options.dtype,
      subfolder: options.subfolder,
    });
    if (hubCached) return hubCached.folder;
  }

  for (const mirror of mirrors) {
    const dir = join(mirror, ...(known?.mirrorPath ?? ref).split('/'));
    searched.push(`mirror: ${dir}`);
    if (!isDirectory(dir)) continue;
    if (known) {
      const [checkpoint, tokenizer] = [known.checkpoint, known.tokenizer].map(file =>
        join(dir, file.file),
      );
      if (!existsSync(checkpoint) || !existsSync(tokenizer)) continue;
      await verifyFile(checkpoint, known.checkpoint);
      await verifyFile(tokenizer, known.tokenizer);
      return convertInto(cached, checkpoint, tokenizer, known.ref, plain);
    }
    if (isModelFolder(dir) && (options.dtype ?? 'fp32') === 'fp32' && !options.subfolder)
      return validateModelFolder(dir);
    if (hubId) {
      const view = await folderForDtype(ref, dir, {
        cacheDir,
        dtype: options.dtype,
        subfolder: options.subfolder,
      });
      if (view) return view;
      continue;
    }
    const converted = await convertLocal(dir, cacheDir, plain, options);
    if (converted) return converted;
  }

  if (hubId) {
    const bar = options.onProgress ? undefined : stderrProgressBar();
    const onProgress = options.onProgress ?? bar?.onProgress;
    try {
      const model = await resolveHubModel(ref, {
        cacheDir,
        dtype: options.dtype,
        subfolder: options.subfolder,
        endpoint: options.endpoint,
        token: options.token,
        fetch: options.fetch,
        signal: options.signal,
        offline: options.offline,
        retries: options.retries,
        searched,
        onProgress: progress =>
          onProgress?.({
            file: progress.file,
            url: `${hubEndpoint(options)}/${parseHubId(ref).id}`,
            received: progress.received,
            total: progress.total,
            done: progress.done,
            model: ref,
          }),
      });
      return model.folder;
    } catch (error) {
      // The hub cannot be reached at all: the id was simply not found anywhere we could look.
      if (
        ModelDownloadError.isInstance(error) &&
        error.reason === 'network' &&
        error.file === 'listing'
      ) {
        throw new ModelNotFoundError({
          ref,
          searched: [
            ...searched,
            `hub: ${error.url} (failed: ${(error.cause as Error)?.message ?? 'unreachable'})`,
          ],
          hint:
            `The hub could not be reached. Check your connection or HF_ENDPOINT, set DECODEKIT_MODELS to a mirror folder that holds it, ` +
            `or use a known model id (known: ${KNOWN_MODELS.map(model => model.ref).join(', ')}).`,
        });
      }
      throw error;
    } finally {
      bar?.stop();
    }
  }
  if (!known) {
    throw new ModelNotFoundError({
      ref,
      searched,
      hint:
        `"${ref}" is not a folder, not a known model id (known: ${KNOWN_MODELS.map(model => model.ref).join(', ')}) ` +
        'and not a hub id (org/name or org/name@revision). Pass a model folder path or a hub id, or set DECODEKIT_MODELS to a mirror folder that holds it.',
    });
  }
  if (options.offline) {
    searched.push(`download: ${known.checkpoint.url} (skipped: offline)`);
    throw new ModelNotFoundError({
      ref,
      searched,
      hint: 'Offline mode is on. Go online, or set DECODEKIT_MODELS to a mirror folder holding the files.',
    });
  }
  const [checkpoint, tokenizer] = await download(known, cacheDir, options, searched);
  return convertInto(cached, checkpoint, tokenizer, known.ref, plain);
}

/** A model folder in the cache. */
export interface CachedModel {
  /** Hub id (for `models/`) or the converted folder's name (for `converted/`). */
  readonly ref: string;
  readonly path: string;
  /** `plain` or `extended` when decodekit converted it. */
  readonly graph?: string;
  readonly source?: string;
}

/** Hub downloads in the cache: `hub/{org}/{name}/snapshots/{commit}/{dtype}`. */
async function listHubModels(cacheDir: string): Promise<CachedModel[]> {
  const found: CachedModel[] = [];
  const entries = async (dir: string) =>
    isDirectory(dir) ? (await readdir(dir)).filter(entry => !entry.startsWith('.')).sort() : [];
  const hub = join(cacheDir, 'hub');
  for (const org of await entries(hub)) {
    for (const name of await entries(join(hub, org))) {
      const snapshots = join(hub, org, name, 'snapshots');
      for (const commit of await entries(snapshots)) {
        for (const view of (await entries(join(snapshots, commit))).filter(
          entry => !entry.includes('.tmp-'),
        )) {
          const path = join(snapshots, commit, view);
          try {
            const manifest = JSON.parse(
              await readFile(join(path, '.decodekit-hub.json'), 'utf8'),
            ) as { dtype?: string; layout: string; graph: string };
            found.push({
              ref: `${org}/${name}@${commit}`,
              path,
              graph: manifest.dtype ?? manifest.layout,
              source: manifest.graph,
            });
          } catch {
            // An unfinished staging folder or a foreign file: not a model.
          }
        }
      }
    }
  }
  return found;
}

/** The model folders in the cache (converted hub models, converted local folders and hub downloads). */
export async function listModels(options: { cacheDir?: string } = {}): Promise<CachedModel[]> {
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const found: CachedModel[] = [];
  const visit = async (dir: string, ref: string, depth: number): Promise<void> => {
    if (isModelFolder(dir)) {
      let info: { graph?: string; source?: string } = {};
      try {
        info =
          (
            JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
              decodekit?: typeof info;
            }
          ).decodekit ?? {};
      } catch {
        // A broken config still lists the folder; resolveModel reports the error.
      }
      found.push({ ref, path: dir, graph: info.graph, source: info.source });
      return;
    }
    if (depth === 0 || !isDirectory(dir)) return;
    for (const entry of (await readdir(dir)).sort()) {
      if (entry.startsWith('.')) continue;
      await visit(join(dir, entry), ref ? `${ref}/${entry}` : entry, depth - 1);
    }
  };
  await visit(join(cacheDir, 'models'), '', 4);
  await visit(join(cacheDir, 'converted'), '', 1);
  found.push(...(await listHubModels(cacheDir)));
  return found;
}
