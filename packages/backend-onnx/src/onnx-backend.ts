import {
  AbortedError,
  BackendError,
  DecodingError,
  DisposedError,
  ModelFormatError,
  throwIfAborted,
  type Backend,
  type LoadedModel,
  type ModelFiles,
  type Tokenizer,
} from '@decodekit/core';
import { discoverGraphIO } from './graph-io';
import { readModelConfig } from './model-config';
import { readEmbeddingTable } from '@decodekit/models';
import type { GraphIO } from './graph-io';
import { KvLedgerSequence } from './kv-ledger';
import {
  OnnxEngine,
  messageOf,
  type EmbedsGraph,
  type FirstGraph,
  type MultiRowSupport,
} from './onnx-model';
import type { OrtRuntime, OrtSession, OrtSessionOptions } from './ort-runtime';
import { Seq2SeqEngine, readSeq2SeqConfig } from './seq2seq-model';

/** Makes the Tokenizer of a model folder (core's `createTokenizer` by default). */
export type TokenizerFactory = (files: {
  readonly tokenizerJson: Readonly<Record<string, unknown>>;
  readonly tokenizerConfig: Readonly<Record<string, unknown>>;
  readonly eosTokenIds?: readonly number[];
  readonly bosTokenId?: number;
}) => Tokenizer | Promise<Tokenizer>;

/**
 * A graph as read by a source reader: its bytes, or its path (onnxruntime-node opens it and its external data
 * itself) with a way to read the bytes and the external data files for runtimes that take bytes.
 */
export type GraphSource =
  | Uint8Array
  | {
      readonly path: string;
      read(): Promise<Uint8Array>;
      /** The graph's external data files (`model.onnx.data`, `model.onnx_data`, ...), by the name the graph uses. */
      externalData?(): Promise<Array<{ readonly path: string; readonly data: Uint8Array }>>;
    };

/**
 * A model folder as read by a source reader: ModelFiles, except that `onnx` may be a file path, which lets
 * onnxruntime-node read (and memory-map) the graph and its external data itself.
 */
export interface ModelSourceFiles extends Omit<ModelFiles, 'onnx'> {
  readonly onnx: GraphSource;
  /** Path of `onnx` inside the folder, for messages (default `onnx/model.onnx`). */
  readonly onnxFile?: string;
  /** `onnx/model_embeds.onnx`, the `inputs_embeds` variant of the graph (docs/graph-io.md), when the folder has it. */
  readonly embedsOnnx?: GraphSource;
  /**
   * The first graph of a split decoder pair (`decoder_model.onnx`, no past inputs), run on an empty cache;
   * `onnx` is then the with-past graph.
   */
  readonly firstOnnx?: GraphSource;
  /** Path of `firstOnnx` inside the folder, for messages. */
  readonly firstOnnxFile?: string;
  /**
   * The encoder of an encoder-decoder export (`onnx/encoder_model.onnx`): the model is then loaded as a
   * seq2seq model (`encoderDecoder`), with `onnx` (and `firstOnnx`) its decoder graphs.
   */
  readonly encoderOnnx?: GraphSource;
  /** Path of `encoderOnnx` inside the folder, for messages. */
  readonly encoderOnnxFile?: string;
  /** The file `config` was read from, for messages (default `config.json`; `genai_config.json` for genai folders). */
  readonly configFile?: string;
  /**
   * External data of graphs given as bytes (`onnx`, `firstOnnx`), named as the graphs reference them
   * (`model_q4.onnx_data`, ...): what `hubModelFiles` from `@decodekit/models` gives. Runtimes that take bytes
   * (onnxruntime-web) get them as session options; onnxruntime-node reads external data only beside a graph
   * file, so there such files are refused with a hint to load the folder.
   */
  readonly externalData?: ReadonlyArray<{ readonly path: string; readonly data: Uint8Array }>;
}

/** Options every ONNX backend accepts. */
export interface OnnxBackendOptions {
  /** ONNX Runtime graph optimizations (default 'all'). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Replaces core's tokenizer factory (tests, custom tokenizers). */
  readonly createTokenizer?: TokenizerFactory;
  /** Extra ONNX Runtime session options, merged over decodekit's (e.g. `enableProfiling`). */
  readonly sessionOptions?: Readonly<Record<string, unknown>>;
}

/** What a concrete ONNX backend (CPU, wasm, CUDA, WebGPU) plugs into {@link createOnnxBackend}. */
export interface OnnxBackendConfig {
  /** Backend id, reported as `capabilities.backendId` (e.g. 'onnx-cpu'). */
  readonly id: string;
  /** Imports and configures the `ort` namespace (called on first load). */
  readonly loadRuntime: () => Promise<OrtRuntime>;
  /** ONNX Runtime session options (execution providers, threads, optimization level). */
  readonly sessionOptions: OrtSessionOptions;
  /** Reads a model folder given as a string (a path in Node, a URL in browsers). */
  readonly readSource: (source: string, signal?: AbortSignal) => Promise<ModelSourceFiles>;
  /** Whether the runtime can open a graph from a file path (onnxruntime-node); else bytes are read first. */
  readonly acceptsPath?: boolean;
  readonly createTokenizer: TokenizerFactory;
  /**
   * Serve `forward({ embeddings })` from `onnx/model_embeds.onnx` when the folder has it (reported as
   * `capabilities.inputEmbeddings`). Backends that leave it unset do not report the capability at all.
   */
  readonly inputEmbeddings?: boolean;
}

const onnxFile = 'onnx/model.onnx';
const embedsFile = 'onnx/model_embeds.onnx';

/** What loading found out about a model's graph (see {@link describeGraph}). */
export interface GraphReport {
  /** The graph file forwards on a cache run (e.g. `onnx/model.onnx`, `model.onnx`, `onnx/decoder_model_merged.onnx`). */
  readonly graph: string;
  /** The first graph of a split pair, which runs the prompt. */
  readonly firstGraph?: string;
  /** The encoder of an encoder-decoder model (`onnx/encoder_model.onnx`). */
  readonly encoderGraph?: string;
  /** Element type of the KV cache (kept as is) and of the logits (widened to float32 once per forward). */
  readonly kvType: 'float32' | 'float16';
  readonly logitsType: 'float32' | 'float16';
  /** The graph's input names. */
  readonly inputs: readonly string[];
  /**
   * Which multi-row forwards the load-time probe found to run with the logits of one-row forwards; the others
   * are served one row at a time (exact, but verifying a draft then costs one forward per row).
   */
  readonly multiRow: MultiRowSupport;
}

const graphReports = new WeakMap<LoadedModel, GraphReport>();
const seq2seqEngines = new WeakMap<LoadedModel, Seq2SeqEngine>();

/** How often an encoder-decoder model loaded by an ONNX backend ran its encoder and computed cross-attention caches. */
export interface Seq2SeqCounters {
  /** Encoder runs: one per request (per `encoderDecoder.encode`). */
  readonly encoderRuns: number;
  /** Decoder steps that computed the cross-attention keys and values: one per encoding. */
  readonly crossAttentionRuns: number;
}

/** The counters of an encoder-decoder model loaded by an ONNX backend; undefined for other models. */
export function seq2seqCounters(model: LoadedModel): Seq2SeqCounters | undefined {
  const engine = seq2seqEngines.get(model);
  return engine === undefined
    ? undefined
    : { encoderRuns: engine.encoderRuns, crossAttentionRuns: engine.crossAttentionRuns };
}

/**
 * What loading found out about a model's graph: its files, cache and logits types, inputs, and whether
 * several tokens run in one forward. Undefined for models not loaded by an ONNX backend.
 */
export function describeGraph(model: LoadedModel): GraphReport | undefined {
  return graphReports.get(model);
}

/** The last segment of a folder path or URL, as a default model name. */
function nameOf(source: string): string {
  const segments = source
    .replace(/[?#].*$/, '')
    .split(/[\\/]+/)
    .filter(segment => segment.length > 0);
  return segments[segments.length - 1] ?? source;
}

/**
 * A Backend over any ONNX Runtime flavour: reads the folder, opens the session, discovers the graph's I/O
 * (docs/graph-io.md) and serves Sequences. The CPU, wasm, CUDA and WebGPU backends are this function with
 * their own `ort` namespace and session options.
 */
export function createOnnxBackend(config: OnnxBackendConfig): Backend {
  let runtime: Promise<OrtRuntime> | undefined;
  return {
    id: config.id,
    async load(source, options = {}): Promise<LoadedModel> {
      const signal = options.signal;
      throwIfAborted(signal);
      const files = typeof source === 'string' ? await config.readSource(source, signal) : source;
      const where = typeof source === 'string' ? source : (options.name ?? 'model files');
      const name =
        options.name ??
        (typeof source === 'string' ? nameOf(source) : undefined) ??
        (typeof files.config._name_or_path === 'string'
          ? files.config._name_or_path
          : 'onnx-model');
      const sourceFiles = files as ModelSourceFiles;
      const graphFile = sourceFiles.onnxFile ?? onnxFile;
      const configFile = sourceFiles.configFile ?? 'config.json';
      // An encoder beside the decoder makes an encoder-decoder model, whose config names its sizes otherwise.
      const seq2seqConfig =
        sourceFiles.encoderOnnx === undefined
          ? undefined
          : readSeq2SeqConfig(files.config, files.generationConfig, name, configFile);
      const { info, shape: configShape } =
        seq2seqConfig ?? readModelConfig(files.config, files.generationConfig, name, configFile);

      let tokenizer: Tokenizer;
      try {
        tokenizer = await config.createTokenizer({
          tokenizerJson: files.tokenizer,
          tokenizerConfig: files.tokenizerConfig ?? {},
          eosTokenIds: info.eosTokenIds,
          bosTokenId: info.bosTokenId,
        });
      } catch (error) {
        if (ModelFormatError.isInstance(error)) throw error;
        throw new ModelFormatError({
          path: 'tokenizer.json',
          message: `could not build the tokenizer: ${messageOf(error)}`,
          cause: error,
        });
      }
      // A head wider than the tokenizer is normal (padded embeddings); token ids the head cannot score are not.
      if (tokenizer.vocabSize > info.vocabSize) {
        throw new ModelFormatError({
          path: 'tokenizer.json',
          message: `the tokenizer has ${tokenizer.vocabSize} tokens but ${configFile}'s vocab_size is ${info.vocabSize}. The tokenizer does not belong to this model.`,
        });
      }
      throwIfAborted(signal);

      runtime ??= config.loadRuntime().catch(error => {
        runtime = undefined; // let a later load() try again
        throw new BackendError({
          message: `Could not start ONNX Runtime for ${config.id}: ${messageOf(error)}`,
          cause: error,
        });
      });
      const ort = await runtime;
      // External data of graphs given as bytes (hubModelFiles): only runtimes that take bytes can use it.
      const bytesExternalData = sourceFiles.externalData ?? [];
      if (bytesExternalData.length > 0 && config.acceptsPath) {
        throw new ModelFormatError({
          path: graphFile,
          message: `was given as bytes with external data (${bytesExternalData.map(data => data.path).join(', ')}), which ${config.id} reads only beside a graph file. Load the model folder instead (loadModel(id) or resolveModel in Node).`,
        });
      }
      const open = async (onnx: GraphSource, file: string): Promise<OrtSession> => {
        try {
          if (onnx instanceof Uint8Array) {
            const externalData = bytesExternalData;
            if (externalData.length === 0)
              return await ort.InferenceSession.create(onnx, config.sessionOptions);
            return await ort.InferenceSession.create(onnx, {
              ...config.sessionOptions,
              externalData,
            });
          }
          if (config.acceptsPath)
            return await ort.InferenceSession.create(onnx.path, config.sessionOptions);
          // Runtimes that take bytes get the external data files as session options.
          const externalData = (await onnx.externalData?.()) ?? [];
          const options =
            externalData.length > 0
              ? { ...config.sessionOptions, externalData }
              : config.sessionOptions;
          return await ort.InferenceSession.create(await onnx.read(), options);
        } catch (error) {
          // A runtime wrapper that already refused the graph for a reason of its own (e.g. WebGPU without
          // float16 kernels) said what to do; the file is not at fault.
          if (DecodingError.isInstance(error)) throw error;
          throw new ModelFormatError({
            path: file,
            message:
              `ONNX Runtime (${config.id}) could not load the graph of ${where}: ${messageOf(error)}. ` +
              'The file is damaged or not a supported ONNX model (or it uses operators this runtime lacks); download or convert it again.',
            cause: error,
          });
        }
      };
      // The first graph of a split pair opens first, so that the main graph is the last session created
      // (backends that wrap the runtime, such as WebGPU's, take the last one as the model's session).
      const firstSession =
        sourceFiles.firstOnnx === undefined
          ? undefined
          : await open(sourceFiles.firstOnnx, sourceFiles.firstOnnxFile ?? 'decoder_model.onnx');
      let session: OrtSession;
      try {
        session = await open(files.onnx, graphFile);
      } catch (error) {
        await firstSession?.release().catch(() => undefined);
        throw error;
      }
      if (seq2seqConfig !== undefined && sourceFiles.encoderOnnx !== undefined) {
        const encoderFile = sourceFiles.encoderOnnxFile ?? 'onnx/encoder_model.onnx';
        let encoderSession: OrtSession | undefined;
        try {
          if (signal?.aborted) throw new AbortedError({ reason: signal.reason });
          encoderSession = await open(sourceFiles.encoderOnnx, encoderFile);
          const engine = new Seq2SeqEngine(
            ort,
            {
              encoder: encoderSession,
              encoderFile,
              decoder: session,
              decoderFile: graphFile,
              ...(firstSession === undefined
                ? {}
                : { first: firstSession, firstFile: sourceFiles.firstOnnxFile }),
            },
            info,
            configShape,
            config.id,
          );
          const loaded: LoadedModel = {
            info,
            capabilities: engine.capabilities,
            tokenizer,
            source: where,
            generationConfig: files.generationConfig,
            encoderDecoder: engine.encoderDecoder(
              seq2seqConfig.decoderStartTokenId,
              seq2seqConfig.maxSourceLength,
            ),
            createSequence(options) {
              if (engine.disposed) throw new DisposedError({ what: `The model ${info.name}` });
              return new KvLedgerSequence(engine.view(options?.encoding));
            },
            dispose: () => engine.dispose(),
          };
          graphReports.set(loaded, {
            graph: graphFile,
            ...(firstSession === undefined ? {} : { firstGraph: sourceFiles.firstOnnxFile }),
            encoderGraph: encoderFile,
            kvType: engine.kvType,
            logitsType: engine.logitsType,
            inputs: [...session.inputNames],
            multiRow: { prefill: true, onCache: true },
          });
          seq2seqEngines.set(loaded, engine);
          return loaded;
        } catch (error) {
          await encoderSession?.release().catch(() => undefined);
          await session.release().catch(() => undefined);
          await firstSession?.release().catch(() => undefined);
          throw error;
        }
      }
      try {
        if (signal?.aborted) throw new AbortedError({ reason: signal.reason });
        const io = discoverGraphIO(session, configShape, { file: graphFile });
        const checkGraph = (graph: GraphIO) => {
          if (graph.numLayers !== info.numLayers) {
            throw new ModelFormatError({
              path: configFile,
              message: `num_hidden_layers is ${info.numLayers} but ${graph.file} has ${graph.numLayers} layers of KV cache. The config does not belong to this graph.`,
            });
          }
          if (graph.logitsWidth !== undefined && graph.logitsWidth !== info.vocabSize) {
            throw new ModelFormatError({
              path: configFile,
              message: `vocab_size is ${info.vocabSize} but the logits of ${graph.file} have ${graph.logitsWidth} columns. The config does not belong to this graph.`,
            });
          }
        };
        checkGraph(io);
        let first: FirstGraph | undefined;
        if (firstSession !== undefined) {
          const firstIO = discoverGraphIO(firstSession, configShape, {
            file: sourceFiles.firstOnnxFile,
            withoutPast: true,
          });
          checkGraph(firstIO);
          if (firstIO.kvType !== io.kvType) {
            throw new ModelFormatError({
              path: firstIO.file ?? graphFile,
              message: `its presents are ${firstIO.kvType} but ${graphFile} takes ${io.kvType} pasts. The two graphs of a split pair must come from one export.`,
            });
          }
          first = { session: firstSession, io: firstIO };
        }
        let embeds: EmbedsGraph | undefined;
        const embedsOnnx = (files as ModelSourceFiles).embedsOnnx;
        if (config.inputEmbeddings && embedsOnnx !== undefined) {
          const bytes = embedsOnnx instanceof Uint8Array ? embedsOnnx : await embedsOnnx.read();
          let table: Float32Array;
          try {
            table = readEmbeddingTable(bytes).data;
          } catch (error) {
            throw new ModelFormatError({
              path: embedsFile,
              message: `could not read its embedding table: ${messageOf(error)}`,
              cause: error,
            });
          }
          if (table.length !== info.vocabSize * info.hiddenSize) {
            throw new ModelFormatError({
              path: embedsFile,
              message: `embed_tokens holds ${table.length} floats, expected vocab_size × hidden_size = ${info.vocabSize} × ${info.hiddenSize}. The graph does not belong to this config.`,
            });
          }
          embeds = {
            table,
            async open() {
              try {
                if (embedsOnnx instanceof Uint8Array || !config.acceptsPath)
                  return await ort.InferenceSession.create(bytes, config.sessionOptions);
                return await ort.InferenceSession.create(embedsOnnx.path, config.sessionOptions);
              } catch (error) {
                throw new ModelFormatError({
                  path: embedsFile,
                  message: `ONNX Runtime (${config.id}) could not load the inputs_embeds graph of ${where}: ${messageOf(error)}. Convert the model again.`,
                  cause: error,
                });
              }
            },
          };
        }
        const engine = new OnnxEngine(
          ort,
          session,
          io,
          info,
          config.id,
          config.inputEmbeddings ? { embeds } : undefined,
          first,
        );
        // Capabilities come from what runs: a graph traced for fixed shapes serves multi-row forwards row by row.
        await engine.probe();
        const table = embeds?.table;
        const loaded: LoadedModel = {
          info,
          capabilities: engine.capabilities,
          tokenizer,
          source: where,
          generationConfig: files.generationConfig,
          createSequence() {
            if (engine.disposed) throw new DisposedError({ what: `The model ${info.name}` });
            return new KvLedgerSequence(engine);
          },
          ...(table === undefined ? {} : { embeddingTable: () => table }),
          dispose: () => engine.dispose(),
        };
        graphReports.set(loaded, {
          graph: graphFile,
          ...(first === undefined ? {} : { firstGraph: first.io.file }),
          kvType: io.kvType,
          logitsType: io.logitsType,
          inputs: [...session.inputNames],
          multiRow: engine.multiRow,
        });
        return loaded;
      } catch (error) {
        await session.release().catch(() => undefined);
        await firstSession?.release().catch(() => undefined);
        throw error;
      }
    },
  };
}
