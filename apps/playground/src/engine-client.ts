import type { BackendChoice, SideConfig } from './config';
import type {
  EngineRequest,
  EngineResponse,
  HubModelRef,
  ModelRef,
  ModelSummary,
  TimedEvent,
} from './protocol';

/** Callbacks of one run. */
export interface RunHandlers {
  onEvents(events: readonly TimedEvent[]): void;
}

/** Progress of a load (bytes while downloading, then a phase without bytes). */
export type ProgressHandler = (progress: { phase: string; loaded: number; total: number }) => void;

/** The page's handle on the engine worker. One request at a time per id; ids are never reused. */
export class EngineClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    {
      resolve(value: unknown): void;
      reject(error: Error): void;
      onProgress?: ProgressHandler;
      onEvents?: RunHandlers['onEvents'];
    }
  >();

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: 'decodekit-engine',
    });
    this.worker.addEventListener('message', (message: MessageEvent<EngineResponse>) =>
      this.receive(message.data),
    );
    this.worker.addEventListener('error', event => {
      const error = new Error(`The engine worker failed: ${event.message || 'unknown error'}`);
      for (const entry of this.pending.values()) entry.reject(error);
      this.pending.clear();
    });
  }

  private receive(response: EngineResponse): void {
    const entry = this.pending.get(response.id);
    if (!entry) return;
    switch (response.type) {
      case 'progress':
        entry.onProgress?.(response);
        break;
      case 'events':
        entry.onEvents?.(response.events);
        break;
      case 'loaded':
        this.pending.delete(response.id);
        entry.resolve(response.model);
        break;
      case 'finished':
        this.pending.delete(response.id);
        entry.resolve(undefined);
        break;
      case 'error': {
        this.pending.delete(response.id);
        const error = new Error(response.message);
        error.name = response.name;
        entry.reject(error);
        break;
      }
    }
  }

  private send(request: EngineRequest): void {
    this.worker.postMessage(request);
  }

  /** Loads (or reuses) the target model on a backend; resolves once it is warmed up. */
  load(
    backend: BackendChoice,
    model: ModelRef,
    onProgress: ProgressHandler,
  ): Promise<ModelSummary> {
    const id = this.nextId++;
    return new Promise<ModelSummary>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress });
      this.send({ type: 'load', id, backend, model });
    });
  }

  /**
   * Downloads a hub model by id (Cache Storage keeps verified files) and loads it; `cancel()` aborts the
   * download (the promise then rejects with an AbortedError). The model loaded before stays in use until
   * this one is ready.
   */
  loadHub(
    backend: BackendChoice,
    model: HubModelRef,
    onProgress: ProgressHandler,
  ): { done: Promise<ModelSummary>; cancel(): void } {
    const id = this.nextId++;
    const done = new Promise<ModelSummary>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress });
      this.send({ type: 'load-hub', id, backend, model });
    });
    return { done, cancel: () => this.send({ type: 'abort', id }) };
  }

  /** Runs one generation; events stream to `onEvents`. `stop()` aborts it (the promise then rejects). */
  run(
    request: { prompt: string; maxTokens: number; side: SideConfig; draftModel: ModelRef },
    handlers: RunHandlers & { onProgress?: ProgressHandler },
  ): { done: Promise<void>; stop(): void } {
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        onEvents: handlers.onEvents,
        onProgress: handlers.onProgress,
      });
      this.send({ type: 'run', id, ...request });
    });
    return { done, stop: () => this.send({ type: 'abort', id }) };
  }
}
