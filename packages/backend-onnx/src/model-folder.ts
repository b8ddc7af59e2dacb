import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelFormatError, ModelNotFoundError, throwIfAborted } from '@decodekit/core';
import {
  ENCODER_FILES,
  GRAPH_FILES,
  LAYOUT_HINT,
  SPLIT_GRAPH_FILES,
  configFromGenai,
} from './model-layout';
import type { GraphSource, ModelSourceFiles } from './onnx-backend';

const layoutHint = LAYOUT_HINT;

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readJson(
  folder: string,
  file: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  const path = join(folder, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error) && !required) return undefined;
    if (isMissing(error)) throw new ModelFormatError({ path, message: `missing. ${layoutHint}` });
    throw new ModelFormatError({
      path,
      message: `could not be read: ${(error as Error).message}`,
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError({
      path,
      message: `is not valid JSON (${(error as Error).message}). Download or convert the model again.`,
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFormatError({ path, message: 'must hold a JSON object.' });
  }
  return value as Record<string, unknown>;
}

/** Where a folder's decoder graph is: one graph, or the two graphs of a split pair. */
export interface GraphLayout {
  /** `genai` for onnxruntime-genai folders (genai_config.json), `hf` for config.json folders. */
  readonly kind: 'hf' | 'genai';
  /** The graph every forward on a cache runs (relative to the folder, `/`-separated). */
  readonly graph: string;
  /** The first graph of a split pair (runs on an empty cache), when the folder holds one. */
  readonly first?: string;
  /** The encoder of an encoder-decoder export (`onnx/encoder_model.onnx`), when the folder holds one. */
  readonly encoder?: string;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    info => info.isFile(),
    () => false,
  );
}

/**
 * Finds the decoder graph of a folder: onnxruntime-genai's genai_config.json (when there is no config.json)
 * names it; else the first of {@link GRAPH_FILES} that exists, else a split pair. Undefined when there is
 * none (the folder may hold a llama2.c checkpoint, or nothing).
 */
export async function findGraphLayout(folder: string): Promise<GraphLayout | undefined> {
  const absolute = resolve(folder);
  const hasConfig = await isFile(join(absolute, 'config.json'));
  if (!hasConfig && (await isFile(join(absolute, 'genai_config.json')))) {
    const genai = (await readJson(absolute, 'genai_config.json', true)) as Record<string, unknown>;
    const { graphFile } = configFromGenai(genai, join(absolute, 'genai_config.json'));
    return { kind: 'genai', graph: graphFile };
  }
  if (!hasConfig) return undefined;
  let encoder: string | undefined;
  for (const file of ENCODER_FILES) {
    if (await isFile(join(absolute, file))) {
      encoder = file;
      break;
    }
  }
  const withEncoder = encoder === undefined ? {} : { encoder };
  for (const graph of GRAPH_FILES)
    if (await isFile(join(absolute, graph))) return { kind: 'hf', graph, ...withEncoder };
  for (const pair of SPLIT_GRAPH_FILES) {
    if ((await isFile(join(absolute, pair.first))) && (await isFile(join(absolute, pair.withPast))))
      return { kind: 'hf', graph: pair.withPast, first: pair.first, ...withEncoder };
  }
  return undefined;
}

/** The `.onnx` files of a folder and its onnx/ subfolder, to name in an error. */
async function onnxFilesIn(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ['', 'onnx']) {
    const entries = await readdir(join(folder, sub)).catch(() => [] as string[]);
    for (const entry of entries)
      if (entry.endsWith('.onnx')) found.push(sub ? `${sub}/${entry}` : entry);
  }
  return found.sort();
}

/**
 * A graph file as a path, with readers for runtimes that take bytes: the graph, and the external data files
 * beside it that the usual exporters name after it (`model.onnx.data`, `model.onnx_data`, `model.onnx_data_1`).
 */
function graphSource(path: string): GraphSource {
  return {
    path,
    read: async () => new Uint8Array(await readFile(path)),
    async externalData() {
      const name = basename(path);
      const pattern = new RegExp(
        `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.data|_data(_\\d+)?)$`,
      );
      const entries = await readdir(dirname(path)).catch(() => [] as string[]);
      return Promise.all(
        entries
          .filter(entry => pattern.test(entry))
          .sort()
          .map(async entry => ({
            path: entry,
            data: new Uint8Array(await readFile(join(dirname(path), entry))),
          })),
      );
    },
  };
}

/**
 * Reads a model folder from disk: the Hugging Face / transformers.js layout (config.json and onnx/model.onnx),
 * optimum's flat, merged (`decoder_model_merged.onnx`) and split (`decoder_model.onnx` +
 * `decoder_with_past_model.onnx`) exports, and onnxruntime-genai folders (`genai_config.json` naming the graph;
 * its model settings become the config). The graph is returned as a path so onnxruntime-node can open it (and
 * its external data) itself; `read()` gives the bytes to other runtimes. `onnx/model_embeds.onnx` (the
 * `inputs_embeds` variant, docs/graph-io.md) is returned as `embedsOnnx` when present.
 */
export async function readModelFolder(
  folder: string,
  signal?: AbortSignal,
): Promise<ModelSourceFiles> {
  const absolute = resolve(folder);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(absolute)).isDirectory();
  } catch (error) {
    if (!isMissing(error))
      throw new ModelFormatError({
        path: absolute,
        message: `could not be read: ${(error as Error).message}`,
        cause: error,
      });
    throw new ModelNotFoundError({
      ref: folder,
      searched: [absolute],
      hint: `The folder does not exist. ${layoutHint}`,
    });
  }
  if (!isDirectory) {
    throw new ModelFormatError({
      path: absolute,
      message: `is a file, not a model folder. ${layoutHint}`,
    });
  }
  const layout = await findGraphLayout(absolute);
  const genai = layout?.kind === 'genai';
  const [configJson, generationConfig, tokenizer, tokenizerConfig] = await Promise.all([
    readJson(absolute, genai ? 'genai_config.json' : 'config.json', true),
    readJson(absolute, 'generation_config.json', false),
    readJson(absolute, 'tokenizer.json', true),
    readJson(absolute, 'tokenizer_config.json', false),
  ]);
  if (layout === undefined) {
    const found = await onnxFilesIn(absolute);
    throw new ModelFormatError({
      path: join(absolute, 'onnx', 'model.onnx'),
      message: `missing, and the folder holds no other decoder graph decodekit reads${
        found.length > 0 ? ` (it has ${found.join(', ')})` : ''
      }. ${layoutHint}`,
    });
  }
  const config = genai
    ? configFromGenai(configJson as Record<string, unknown>, join(absolute, 'genai_config.json'))
        .config
    : (configJson as Record<string, unknown>);
  const onnxPath = join(absolute, ...layout.graph.split('/'));
  const embedsPath = join(absolute, 'onnx', 'model_embeds.onnx');
  const hasEmbeds = layout.graph === 'onnx/model.onnx' && (await isFile(embedsPath));
  throwIfAborted(signal);
  return {
    ...(hasEmbeds ? { embedsOnnx: graphSource(embedsPath) } : {}),
    ...(layout.first === undefined
      ? {}
      : {
          firstOnnx: graphSource(join(absolute, ...layout.first.split('/'))),
          firstOnnxFile: layout.first,
        }),
    ...(layout.encoder === undefined
      ? {}
      : {
          encoderOnnx: graphSource(join(absolute, ...layout.encoder.split('/'))),
          encoderOnnxFile: layout.encoder,
        }),
    config,
    ...(genai ? { configFile: 'genai_config.json' } : {}),
    generationConfig,
    tokenizer: tokenizer as Record<string, unknown>,
    tokenizerConfig,
    onnx: graphSource(onnxPath),
    onnxFile: layout.graph,
  };
}
