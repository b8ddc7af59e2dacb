import {
  DisposedError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  throwIfAborted,
  type Backend,
  type LoadedModel,
  type ModelFiles,
  type Tokenizer,
} from '@decodekit/core';
import type {
  GraphReport,
  ModelSourceFiles,
  OnnxBackendConfig,
  OrtRuntime,
  OrtSessionOptions,
  TokenizerFactory,
} from '@decodekit/backend-onnx/browser';
import { KvLedgerSequence } from '@decodekit/backend-onnx/engine';
import {
  DeviceEngine,
  type DeviceRuntime,
  type DeviceSession,
  type DeviceStats,
} from './device-model';
import { buildGatherGraph, gatherInputName } from './gather-graph';

/** `capabilities.backendId` of the WebGPU backend. */
export const WEBGPU_BACKEND_ID = 'onnx-webgpu';

/** Options every WebGPU backend accepts (Node and browsers). */
export interface WebGpuBackendOptions {
  /** ONNX Runtime graph optimizations (default 'all'). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Replaces core's tokenizer factory (tests, custom tokenizers). */
  readonly createTokenizer?: TokenizerFactory;
  /**
   * Options of ONNX Runtime's WebGPU execution provider, e.g. `{ validationMode: 'disabled' }` or
   * `{ preferredLayout: 'NHWC' }` (onnxruntime-node passes them to the provider as they are).
   */
  readonly providerOptions?: Readonly<Record<string, string | boolean>>;
  /** Extra ONNX Runtime session options, merged over decodekit's. */
  readonly sessionOptions?: Readonly<Record<string, unknown>>;
}

/** A model loaded by the WebGPU backend: a LoadedModel plus its device↔host traffic counters. */
export interface WebGpuModel extends LoadedModel {
  /** Live counters: forwards, bytes read back to the host, device-side gathers, device buffers released. */
  readonly deviceStats: Readonly<DeviceStats>;
}

/** What differs between Node (onnxruntime-node + Dawn) and browsers (onnxruntime-web/webgpu). */
export interface WebGpuPlatform {
  readonly importRuntime: () => Promise<DeviceRuntime>;
  /** Platform preparation before the first session (Node: make a Vulkan loader findable). */
  readonly prepare?: () => void;
  /** Throws a clear error when this platform has no WebGPU at all (browsers without `navigator.gpu`). */
  readonly checkAvailable?: () => Promise<void>;
  readonly readSource: (source: string, signal?: AbortSignal) => Promise<ModelSourceFiles>;
  /** Whether the runtime opens a graph from a file path (onnxruntime-node). */
  readonly acceptsPath: boolean;
  /** How to get a WebGPU adapter on this platform (appended to the error). */
  readonly adapterHint: string;
  readonly defaultTokenizer: TokenizerFactory;
  /** backend-onnx's loader for this platform (Node or browser entry). */
  readonly createOnnxBackend: (config: OnnxBackendConfig) => Backend;
  /** backend-onnx's graph report, from the same entry as `createOnnxBackend` (it reads the cache's dtype). */
  readonly describeGraph: (model: LoadedModel) => GraphReport | undefined;
}

const levels = ['disabled', 'basic', 'extended', 'all'];

function checkOptions(options: WebGpuBackendOptions): void {
  const { graphOptimizationLevel, providerOptions, sessionOptions, createTokenizer } = options;
  if (graphOptimizationLevel !== undefined && !levels.includes(graphOptimizationLevel)) {
    throw new InvalidArgumentError({
      argument: 'graphOptimizationLevel',
      message: `must be one of ${levels.join(', ')}, got ${String(graphOptimizationLevel)}.`,
    });
  }
  for (const [name, value] of [
    ['providerOptions', providerOptions],
    ['sessionOptions', sessionOptions],
  ] as const) {
    if (
      value !== undefined &&
      (typeof value !== 'object' || value === null || Array.isArray(value))
    ) {
      throw new InvalidArgumentError({ argument: name, message: 'must be a plain object.' });
    }
  }
  if (providerOptions !== undefined && 'name' in providerOptions) {
    throw new InvalidArgumentError({
      argument: 'providerOptions',
      message: 'must not set "name": the backend always uses the "webgpu" provider.',
    });
  }
  if (createTokenizer !== undefined && typeof createTokenizer !== 'function') {
    throw new InvalidArgumentError({ argument: 'createTokenizer', message: 'must be a function.' });
  }
}

/** The last segment of a folder path or URL, as the default model name (as backend-onnx names models). */
function nameOf(source: string): string {
  const segments = source
    .replace(/[?#].*$/, '')
    .split(/[\\/]+/)
    .filter(segment => segment.length > 0);
  return segments[segments.length - 1] ?? source;
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim();
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Layer count from config.json, when it is readable (backend-onnx reports a bad config itself). */
function layersOf(config: Readonly<Record<string, unknown>>): number | undefined {
  return (
    positiveInteger(config.num_hidden_layers) ??
    positiveInteger(config.n_layer) ??
    positiveInteger(config.num_layers)
  );
}

function staticDim(session: DeviceSession, name: string, axis: number): number | undefined {
  const meta = session.inputMetadata?.find(entry => entry.name === name);
  if (!meta?.isTensor) return undefined;
  const dim = meta.shape[axis];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/**
 * The WebGPU backend on a given platform. Loading (folder reading, config and tokenizer checks, graph I/O
 * discovery) is backend-onnx's `createOnnxBackend`; forwards run on {@link DeviceEngine}, which keeps the KV
 * cache on the GPU.
 */
export function createWebGpuBackendOn(
  platform: WebGpuPlatform,
  options: WebGpuBackendOptions = {},
): Backend {
  checkOptions(options);
  const {
    graphOptimizationLevel = 'all',
    createTokenizer,
    providerOptions = {},
    sessionOptions = {},
  } = options;
  const providers = [{ ...providerOptions, name: 'webgpu' }];
  const baseOptions: Record<string, unknown> = {
    executionProviders: providers,
    graphOptimizationLevel,
    // ONNX Runtime warns at load that shape ops run on the CPU provider, which is by design; keep errors only.
    logSeverityLevel: 3,
    ...sessionOptions,
  };

  let runtime: Promise<DeviceRuntime> | undefined;
  /** Imports ONNX Runtime and proves that it gets a WebGPU adapter (a one-node session on the provider). */
  const startRuntime = (): Promise<DeviceRuntime> =>
    (runtime ??= (async () => {
      platform.prepare?.();
      await platform.checkAvailable?.();
      const ort = await platform.importRuntime();
      let probe: DeviceSession;
      try {
        probe = await ort.InferenceSession.create(buildGatherGraph(1), baseOptions);
      } catch (error) {
        const message = messageOf(error);
        if (/adapter|webgpu|dawn|vulkan|device/i.test(message)) {
          const failure = new UnsupportedCapabilityError({
            capability: 'webgpu',
            backendId: WEBGPU_BACKEND_ID,
            hint: `ONNX Runtime could not get a WebGPU adapter (${message}). ${platform.adapterHint}`,
          });
          (failure as { cause?: unknown }).cause = error;
          throw failure;
        }
        throw error;
      }
      await probe.release();
      return ort;
    })().catch(error => {
      runtime = undefined; // let a later load() try again
      throw error;
    }));

  let halfKernels: Promise<unknown> | undefined;
  /**
   * Runs one float16 Gather on the provider; resolves to undefined when it runs, else to its error. WebGPU devices
   * without the `shader-f16` feature (SwiftShader, some GPUs) compile no float16 kernel, so a float16 graph
   * would fail in its first forward.
   */
  const checkHalfKernels = (ort: DeviceRuntime): Promise<unknown> =>
    (halfKernels ??= (async () => {
      try {
        // Quiet: a device without float16 shaders makes ONNX Runtime log the expected failure as an error.
        const probe = await ort.InferenceSession.create(buildGatherGraph(1, 'float16'), {
          ...baseOptions,
          logSeverityLevel: 4,
        });
        try {
          await probe.run({
            [gatherInputName(0)]: new ort.Tensor('float16', new Uint16Array(1), [1, 1, 1, 1]),
            indices: new ort.Tensor('int64', BigInt64Array.of(0n), [1]),
          });
        } finally {
          await probe.release();
        }
        return undefined;
      } catch (error) {
        return error;
      }
    })());

  /** Refuses a graph with float16 inputs or outputs on a device that runs no float16 kernels. */
  async function checkHalfSupport(ort: DeviceRuntime, session: DeviceSession): Promise<void> {
    const metadata = [...(session.inputMetadata ?? []), ...(session.outputMetadata ?? [])];
    if (!metadata.some(entry => entry.isTensor && entry.type === 'float16')) return;
    const failure = await checkHalfKernels(ort);
    if (failure === undefined) return;
    await session.release().catch(() => undefined);
    const error = new UnsupportedCapabilityError({
      capability: 'shader-f16',
      backendId: WEBGPU_BACKEND_ID,
      hint:
        `This graph has a float16 KV cache or logits, and this WebGPU device runs no float16 kernels ` +
        `(it lacks the "shader-f16" feature; ONNX Runtime said: ${messageOf(failure)}). Load a float32 ` +
        'export of the model (e.g. dtype fp32 or q4), or run this one on the CPU or wasm backend of ' +
        '@decodekit/backend-onnx, which read float16 caches on any machine.',
    });
    (error as { cause?: unknown }).cause = failure;
    throw error;
  }

  // Per-load state read by the wrapped runtime below. Loads run one at a time (see `serial`).
  let presentLocations: Record<string, string> | undefined;
  let created: DeviceSession | undefined;
  const onnx = platform.createOnnxBackend({
    id: WEBGPU_BACKEND_ID,
    async loadRuntime() {
      const ort = await startRuntime();
      const wrapped = {
        Tensor: ort.Tensor,
        InferenceSession: {
          async create(model: Uint8Array | string, sessionOptions?: OrtSessionOptions) {
            const session = await ort.InferenceSession.create(model, {
              ...sessionOptions,
              ...(presentLocations ? { preferredOutputLocation: presentLocations } : {}),
            });
            await checkHalfSupport(ort, session);
            created = session;
            return session;
          },
        },
      };
      return wrapped as unknown as OrtRuntime;
    },
    sessionOptions: baseOptions as OrtSessionOptions,
    readSource: platform.readSource,
    acceptsPath: platform.acceptsPath,
    createTokenizer: createTokenizer ?? platform.defaultTokenizer,
  });

  let serial: Promise<unknown> = Promise.resolve();
  async function loadOne(
    source: string | ModelFiles,
    { name, signal }: { name?: string; signal?: AbortSignal },
  ): Promise<WebGpuModel> {
    throwIfAborted(signal);
    const ort = await startRuntime();
    const files = typeof source === 'string' ? await platform.readSource(source, signal) : source;
    const layers = layersOf(files.config);
    presentLocations = undefined;
    if (layers !== undefined) {
      presentLocations = {};
      for (let layer = 0; layer < layers; layer++) {
        presentLocations[`present.${layer}.key`] = 'gpu-buffer';
        presentLocations[`present.${layer}.value`] = 'gpu-buffer';
      }
    }
    created = undefined;
    const loaded = await onnx.load(files as ModelFiles, {
      name: name ?? (typeof source === 'string' ? nameOf(source) : undefined),
      signal,
    });
    const session = created as DeviceSession | undefined;
    created = undefined;
    presentLocations = undefined;
    if (session === undefined) {
      await loaded.dispose();
      throw new Error('the WebGPU session was not created through the backend runtime'); // cannot happen
    }
    const pastNames: string[] = [];
    const presentNames: string[] = [];
    for (let layer = 0; layer < loaded.info.numLayers; layer++) {
      for (const part of ['key', 'value']) {
        pastNames.push(`past_key_values.${layer}.${part}`);
        presentNames.push(`present.${layer}.${part}`);
      }
    }
    const config = files.config;
    const heads = positiveInteger(config.num_attention_heads);
    const kvHeads =
      staticDim(session, pastNames[0], 1) ??
      positiveInteger(config.num_key_value_heads) ??
      heads ??
      1;
    const headDim =
      staticDim(session, pastNames[0], 3) ??
      positiveInteger(config.head_dim) ??
      (heads !== undefined ? loaded.info.hiddenSize / heads : 1);
    const inputs = new Set(session.inputNames);
    const report = platform.describeGraph(loaded);
    const engine = new DeviceEngine(
      ort,
      session,
      {
        pastNames,
        presentNames,
        hasAttentionMask: inputs.has('attention_mask'),
        hasPositionIds: inputs.has('position_ids'),
        hasAttentionBias: inputs.has('attention_bias'),
        hasSkipLayers: inputs.has('skip_layers'),
        hasUseCacheBranch: inputs.has('use_cache_branch'),
        logitsToKeep: ['num_logits_to_keep', 'logits_to_keep'].find(input => inputs.has(input)),
        kvHeads,
        headDim,
        kvType: report?.kvType ?? 'float32',
        multiRow: report?.multiRow ?? { prefill: true, onCache: true },
      },
      loaded.info,
      loaded.capabilities,
      baseOptions,
    );
    const info = loaded.info;
    return {
      info,
      capabilities: loaded.capabilities,
      tokenizer: loaded.tokenizer as Tokenizer,
      source: typeof source === 'string' ? source : loaded.source,
      generationConfig: loaded.generationConfig,
      deviceStats: engine.stats,
      createSequence() {
        if (engine.disposed) throw new DisposedError({ what: `The model ${info.name}` });
        return new KvLedgerSequence(engine);
      },
      async dispose() {
        if (engine.disposed) return;
        await engine.dispose();
        await loaded.dispose(); // releases the model's session
      },
    };
  }

  return {
    id: WEBGPU_BACKEND_ID,
    load(source, loadOptions = {}) {
      const result = serial.then(() => loadOne(source, loadOptions));
      serial = result.catch(() => undefined);
      return result;
    },
  };
}
