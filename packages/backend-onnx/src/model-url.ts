import {
  AbortedError,
  ModelFormatError,
  ModelNotFoundError,
  throwIfAborted,
} from '@decodekit/core';
import {
  ENCODER_FILES,
  GRAPH_FILES,
  LAYOUT_HINT,
  SPLIT_GRAPH_FILES,
  configFromGenai,
} from './model-layout';
import type { ModelSourceFiles } from './onnx-backend';

/** The `fetch` function model loading uses (the global one unless given). */
export type FetchFunction = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

function joinUrl(base: string, file: string): string {
  return `${base.replace(/\/+$/, '')}/${file}`;
}

async function get(
  fetchFunction: FetchFunction,
  url: string,
  signal: AbortSignal | undefined,
): Promise<Response | undefined> {
  let response: Response;
  try {
    response = await fetchFunction(url, { signal });
  } catch (error) {
    if (signal?.aborted) throw new AbortedError({ reason: signal.reason });
    throw new ModelNotFoundError({
      ref: url,
      searched: [url],
      hint: `Fetching it failed: ${(error as Error)?.message ?? String(error)}. Check the URL and that the server allows this origin (CORS).`,
    });
  }
  if (response.status === 404) return undefined;
  if (!response.ok) {
    throw new ModelNotFoundError({
      ref: url,
      searched: [url],
      hint: `The server answered HTTP ${response.status}.`,
    });
  }
  return response;
}

async function getJson(
  fetchFunction: FetchFunction,
  base: string,
  file: string,
  required: boolean,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown> | undefined> {
  const url = joinUrl(base, file);
  const response = await get(fetchFunction, url, signal);
  if (response === undefined) {
    if (!required) return undefined;
    if (file === 'config.json') {
      throw new ModelNotFoundError({
        ref: base,
        searched: [url],
        hint: 'No model folder is served there (config.json answered HTTP 404). Pass the URL of a folder with config.json, tokenizer.json and onnx/model.onnx.',
      });
    }
    throw new ModelFormatError({
      path: url,
      message:
        'missing (HTTP 404). A model folder needs config.json, tokenizer.json and onnx/model.onnx.',
    });
  }
  let value: unknown;
  try {
    value = await response.json();
  } catch (error) {
    throw new ModelFormatError({
      path: url,
      message: `is not valid JSON (${(error as Error).message}).`,
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFormatError({ path: url, message: 'must hold a JSON object.' });
  }
  return value as Record<string, unknown>;
}

async function getBytes(
  fetchFunction: FetchFunction,
  url: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | undefined> {
  const response = await get(fetchFunction, url, signal);
  return response === undefined ? undefined : new Uint8Array(await response.arrayBuffer());
}

/**
 * Fetches a model folder served over HTTP(S) (e.g. a Hugging Face `resolve/main` URL or a static server): the
 * layouts `readModelFolder` reads (config.json with onnx/model.onnx, model.onnx, decoder_model_merged.onnx or the
 * decoder_model.onnx + decoder_with_past_model.onnx pair;
 * onnxruntime-genai's genai_config.json with the graph it names), and the graph's external data when the server
 * has it under the usual names (`<graph>.data`, `<graph>_data`). A server cannot list files, so each candidate
 * is requested in turn; a 404 moves on to the next.
 */
export async function fetchModelFiles(
  baseUrl: string,
  {
    fetch: fetchFunction = globalThis.fetch as FetchFunction,
    signal,
  }: { fetch?: FetchFunction; signal?: AbortSignal } = {},
): Promise<ModelSourceFiles> {
  const [hfConfig, generationConfig, tokenizer, tokenizerConfig] = await Promise.all([
    getJson(fetchFunction, baseUrl, 'config.json', false, signal),
    getJson(fetchFunction, baseUrl, 'generation_config.json', false, signal),
    getJson(fetchFunction, baseUrl, 'tokenizer.json', false, signal),
    getJson(fetchFunction, baseUrl, 'tokenizer_config.json', false, signal),
  ]);
  let config = hfConfig;
  let candidates: readonly string[] = GRAPH_FILES;
  let configFile: string | undefined;
  if (config === undefined) {
    const genai = await getJson(fetchFunction, baseUrl, 'genai_config.json', false, signal);
    if (genai === undefined) {
      throw new ModelNotFoundError({
        ref: baseUrl,
        searched: [joinUrl(baseUrl, 'config.json'), joinUrl(baseUrl, 'genai_config.json')],
        hint: 'No model folder is served there (config.json answered HTTP 404). Pass the URL of a folder with config.json, tokenizer.json and onnx/model.onnx.',
      });
    }
    const converted = configFromGenai(genai, joinUrl(baseUrl, 'genai_config.json'));
    config = converted.config;
    candidates = [converted.graphFile];
    configFile = 'genai_config.json';
  }
  if (tokenizer === undefined) {
    throw new ModelFormatError({
      path: joinUrl(baseUrl, 'tokenizer.json'),
      message: `missing (HTTP 404). ${LAYOUT_HINT}`,
    });
  }
  let onnx: Uint8Array | undefined;
  let onnxFile = candidates[0];
  for (const candidate of candidates) {
    onnx = await getBytes(fetchFunction, joinUrl(baseUrl, candidate), signal);
    onnxFile = candidate;
    if (onnx !== undefined) break;
  }
  let firstOnnx: Uint8Array | undefined;
  let firstOnnxFile: string | undefined;
  if (onnx === undefined && configFile === undefined) {
    // Older optimum exports: the prompt graph and the with-past graph.
    for (const pair of SPLIT_GRAPH_FILES) {
      const withPast = await getBytes(fetchFunction, joinUrl(baseUrl, pair.withPast), signal);
      if (withPast === undefined) continue;
      firstOnnx = await getBytes(fetchFunction, joinUrl(baseUrl, pair.first), signal);
      if (firstOnnx === undefined) continue;
      onnx = withPast;
      onnxFile = pair.withPast;
      firstOnnxFile = pair.first;
      break;
    }
  }
  if (onnx === undefined) {
    throw new ModelFormatError({
      path: joinUrl(baseUrl, candidates[0]),
      message: `missing (HTTP 404${candidates.length > 1 ? ` for ${candidates.join(', ')}` : ''}). ${LAYOUT_HINT}`,
    });
  }
  // Encoder-decoder exports (config.json says so) keep their encoder beside the decoder; decoder-only folders
  // are never asked for one (an offline page's service worker has no answer for absent files).
  let encoderOnnx: Uint8Array | undefined;
  let encoderOnnxFile: string | undefined;
  if (config.is_encoder_decoder === true) {
    for (const candidate of ENCODER_FILES) {
      encoderOnnx = await getBytes(fetchFunction, joinUrl(baseUrl, candidate), signal);
      encoderOnnxFile = candidate;
      if (encoderOnnx !== undefined) break;
    }
    if (encoderOnnx === undefined) {
      throw new ModelFormatError({
        path: joinUrl(baseUrl, ENCODER_FILES[0]),
        message: `missing (HTTP 404): config.json says is_encoder_decoder, so the folder needs its encoder graph. ${LAYOUT_HINT}`,
      });
    }
  }
  const externalData: Array<{ path: string; data: Uint8Array }> = [];
  const graphName = onnxFile.split('/').pop() as string;
  for (const suffix of ['.data', '_data']) {
    // Only files the graph names: a graph with external data stores each file's name in its initializers, so
    // graphs without any ask for nothing (an offline page's service worker has no answer for absent files).
    if (!containsAscii(onnx, `${graphName}${suffix}`)) continue;
    const data = await getBytes(fetchFunction, joinUrl(baseUrl, `${onnxFile}${suffix}`), signal);
    if (data !== undefined) externalData.push({ path: `${graphName}${suffix}`, data });
  }
  throwIfAborted(signal);
  const bytes = onnx;
  return {
    config: config as Record<string, unknown>,
    ...(configFile === undefined ? {} : { configFile }),
    generationConfig,
    tokenizer,
    tokenizerConfig,
    onnx:
      externalData.length === 0
        ? bytes
        : {
            path: joinUrl(baseUrl, onnxFile),
            read: async () => bytes,
            externalData: async () => externalData,
          },
    onnxFile,
    ...(firstOnnx === undefined ? {} : { firstOnnx, firstOnnxFile }),
    ...(encoderOnnx === undefined ? {} : { encoderOnnx, encoderOnnxFile }),
  };
}

/** True when `bytes` contains the ASCII string `text` (a file name stored in an ONNX graph's external_data). */
function containsAscii(bytes: Uint8Array, text: string): boolean {
  const needle = new TextEncoder().encode(text);
  const first = needle[0];
  outer: for (
    let i = bytes.indexOf(first);
    i >= 0 && i <= bytes.length - needle.length;
    i = bytes.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
