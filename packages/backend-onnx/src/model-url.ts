import {
  AbortedError,
  ModelFormatError,
  ModelNotFoundError,
  throwIfAborted,
} from '@decodekit/core';
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

/** Fetches a model folder served over HTTP(S) (e.g. a Hugging Face `resolve/main` URL or a static server). */
export async function fetchModelFiles(
  baseUrl: string,
  {
    fetch: fetchFunction = globalThis.fetch as FetchFunction,
    signal,
  }: { fetch?: FetchFunction; signal?: AbortSignal } = {},
): Promise<ModelSourceFiles> {
  const [config, generationConfig, tokenizer, tokenizerConfig] = await Promise.all([
    getJson(fetchFunction, baseUrl, 'config.json', true, signal),
    getJson(fetchFunction, baseUrl, 'generation_config.json', false, signal),
    getJson(fetchFunction, baseUrl, 'tokenizer.json', true, signal),
    getJson(fetchFunction, baseUrl, 'tokenizer_config.json', false, signal),
  ]);
  const onnxUrl = joinUrl(baseUrl, 'onnx/model.onnx');
  const response = await get(fetchFunction, onnxUrl, signal);
  if (response === undefined) {
    throw new ModelFormatError({
      path: onnxUrl,
      message: 'missing (HTTP 404). A model folder needs onnx/model.onnx.',
    });
  }
  const onnx = new Uint8Array(await response.arrayBuffer());
  throwIfAborted(signal);
  return {
    config: config as Record<string, unknown>,
    generationConfig,
    tokenizer: tokenizer as Record<string, unknown>,
    tokenizerConfig,
    onnx,
  };
}
