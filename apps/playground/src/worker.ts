/// <reference lib="webworker" />
/**
 * The engine: loads models with a decodekit backend and runs decoders off the page's thread, posting
 * decode events (batched, each with its own timestamp) so the page can draw while the model runs.
 */
import { createWasmBackend, fetchModelFiles } from '@decodekit/backend-onnx';
import { DecodingError, type Backend, type DecodeEvent, type LoadedModel } from '@decodekit/core';
import { hubModelFiles, resolveHubFiles } from '@decodekit/models';
import { loadWebGpuBackend } from 'virtual:decodekit-webgpu';
import { strategyById } from './catalog';
import type { BackendChoice } from './config';
import { buildDecoder, generateOptionsOf } from './decoder-factory';
import type {
  EngineRequest,
  EngineResponse,
  HubModelRef,
  ModelRef,
  ModelSummary,
  TimedEvent,
} from './protocol';
import { tokenLabel } from './token-label';

declare const self: DedicatedWorkerGlobalScope;

const post = (message: EngineResponse): void => self.postMessage(message);

const backends = new Map<BackendChoice, Promise<Backend>>();
const models = new Map<string, Promise<LoadedModel>>();
/** Runs and hub downloads in flight, by request id (an `abort` request aborts the controller). */
const runs = new Map<number, AbortController>();
/** Which commit and graph file a hub model was loaded from. */
const hubSources = new WeakMap<LoadedModel, NonNullable<ModelSummary['hub']>>();
let current: { backend: BackendChoice; model: LoadedModel } | undefined;

function backendOf(choice: BackendChoice): Promise<Backend> {
  let backend = backends.get(choice);
  if (!backend) {
    backend =
      choice === 'webgpu'
        ? loadWebGpuBackend().then(create => create())
        : Promise.resolve(createWasmBackend());
    backend.catch(() => backends.delete(choice));
    backends.set(choice, backend);
  }
  return backend;
}

/** A fetch that counts the bytes of every body it reads, for the progress bar. */
function countingFetch(onBytes: (bytes: number) => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        onBytes(value.byteLength);
        controller.enqueue(value);
      },
      cancel: reason => reader.cancel(reason),
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function loadModel(id: number, choice: BackendChoice, ref: ModelRef): Promise<LoadedModel> {
  const key = `${choice}:${ref.name}`;
  let model = models.get(key);
  if (!model) {
    model = (async () => {
      const total = Object.values(ref.files).reduce((sum, size) => sum + size, 0);
      let loaded = 0;
      let lastPost = 0;
      post({ type: 'progress', id, phase: `Starting ${choice} runtime`, loaded, total });
      const backend = await backendOf(choice);
      const onBytes = (bytes: number): void => {
        loaded += bytes;
        const now = performance.now();
        if (now - lastPost > 50 || loaded >= total) {
          lastPost = now;
          post({
            type: 'progress',
            id,
            phase: `Downloading ${ref.name}`,
            loaded: Math.min(loaded, total),
            total,
          });
        }
      };
      // The folder is fetched here (counting bytes) and handed to the backend as ModelFiles: any backend
      // takes those, and the files stay in the Cache the service worker keeps.
      const files = await fetchModelFiles(ref.url, { fetch: countingFetch(onBytes) });
      post({
        type: 'progress',
        id,
        phase: `Compiling ${ref.name} (${choice})`,
        loaded: total,
        total,
      });
      const started = performance.now();
      const result = await backend.load(files as Parameters<Backend['load']>[0], {
        name: ref.name,
      });
      (result as { loadMs?: number }).loadMs = performance.now() - started;
      return result;
    })();
    model.catch(() => models.delete(key));
    models.set(key, model);
  }
  return model;
}

/**
 * Resolves a hub id in the browser with @decodekit/models' `resolveHubFiles` (revision pinned to a commit,
 * files checked against the hub's sha256, verified files kept in Cache Storage), then loads the picked graph.
 * One progress bar covers every file of the model. Aborting `signal` cancels the download.
 */
function loadHubModel(
  id: number,
  choice: BackendChoice,
  ref: HubModelRef,
  signal: AbortSignal,
): Promise<LoadedModel> {
  const key = `${choice}:hub:${ref.endpoint} ${ref.id} ${ref.dtype}`;
  let model = models.get(key);
  if (!model) {
    model = (async () => {
      post({ type: 'progress', id, phase: `Starting ${choice} runtime`, loaded: 0, total: 0 });
      const backend = await backendOf(choice);
      let lastPost = 0;
      const resolved = await resolveHubFiles(ref.id, {
        dtype: ref.dtype,
        endpoint: ref.endpoint,
        token: ref.token,
        signal,
        onProgress: ({ received, total, done }) => {
          const now = performance.now();
          if (!done && now - lastPost < 50) return;
          lastPost = now;
          post({ type: 'progress', id, phase: `Downloading ${ref.id}`, loaded: received, total });
        },
      });
      const files = hubModelFiles(resolved);
      post({ type: 'progress', id, phase: `Compiling ${ref.id} (${choice})`, loaded: 1, total: 1 });
      const started = performance.now();
      const result = await backend.load(files as Parameters<Backend['load']>[0], {
        name: `${resolved.id}@${resolved.revision}`,
        signal,
      });
      (result as { loadMs?: number }).loadMs = performance.now() - started;
      hubSources.set(result, { commit: resolved.commit, graph: resolved.graph });
      return result;
    })();
    model.catch(() => models.delete(key));
    models.set(key, model);
  }
  return model;
}

function errorResponse(id: number, error: unknown): EngineResponse {
  const name = DecodingError.isInstance(error)
    ? error.name
    : error instanceof Error
      ? error.name
      : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'error', id, name, message };
}

/** Drops what the page never draws (per-row draft distributions can be rows × vocab floats). */
function slim(event: DecodeEvent): DecodeEvent {
  if (event.type !== 'draft') return event;
  const { tokens, parents, q } = event.tree;
  return { type: 'draft', tree: q ? { tokens, parents, q } : { tokens, parents } };
}

async function handleLoad(
  request: Extract<EngineRequest, { type: 'load' | 'load-hub' }>,
): Promise<void> {
  let model: LoadedModel;
  if (request.type === 'load') {
    model = await loadModel(request.id, request.backend, request.model);
  } else {
    const controller = new AbortController();
    runs.set(request.id, controller);
    try {
      model = await loadHubModel(request.id, request.backend, request.model, controller.signal);
    } finally {
      runs.delete(request.id);
    }
  }
  current = { backend: request.backend, model };
  // One short generation compiles the kernels, so the first run the user times is not the slow one.
  post({ type: 'progress', id: request.id, phase: 'Warming up', loaded: 1, total: 1 });
  const { decoder } = await buildDecoder(
    { strategy: 'autoregressive', options: {}, processors: [], sampling: {} },
    { model, tokenizer: model.tokenizer },
  );
  await decoder.generate('Once', { maxTokens: 8 });
  const labels: string[] = [];
  for (let id = 0; id < model.info.vocabSize; id++) labels.push(tokenLabel(model.tokenizer, id));
  post({
    type: 'loaded',
    id: request.id,
    model: {
      name: model.info.name,
      backendId: model.capabilities.backendId,
      vocabSize: model.info.vocabSize,
      contextLength: model.info.contextLength,
      numLayers: model.info.numLayers,
      capabilities: { ...model.capabilities },
      labels,
      loadMs: (model as { loadMs?: number }).loadMs ?? 0,
      hub: hubSources.get(model),
    },
  });
}

async function handleRun(request: Extract<EngineRequest, { type: 'run' }>): Promise<void> {
  if (!current) throw new Error('No model is loaded yet.');
  const { model, backend } = current;
  const controller = new AbortController();
  runs.set(request.id, controller);
  try {
    const needsDraft = strategyById(request.side.strategy)?.needsDraftModel === true;
    const draft = needsDraft ? await loadModel(request.id, backend, request.draftModel) : undefined;
    const { decoder } = await buildDecoder(request.side, {
      model,
      tokenizer: model.tokenizer,
      draftModel: draft,
    });
    const options = generateOptionsOf(request.side, request.maxTokens, controller.signal);
    let batch: TimedEvent[] = [];
    let lastFlush = performance.now();
    const flush = (): void => {
      if (batch.length === 0) return;
      post({ type: 'events', id: request.id, events: batch });
      batch = [];
      lastFlush = performance.now();
    };
    const started = performance.now();
    for await (const event of decoder.stream(request.prompt, options)) {
      const now = performance.now();
      batch.push({ t: now - started, event: slim(event) });
      if (now - lastFlush > 16 || event.type === 'done') flush();
    }
    flush();
    post({ type: 'finished', id: request.id });
  } finally {
    runs.delete(request.id);
  }
}

self.addEventListener('message', (message: MessageEvent<EngineRequest>) => {
  const request = message.data;
  if (request.type === 'abort') {
    runs.get(request.id)?.abort(new Error('stopped'));
    return;
  }
  const task = request.type === 'run' ? handleRun(request) : handleLoad(request);
  task.catch(error => post(errorResponse(request.id, error)));
});
