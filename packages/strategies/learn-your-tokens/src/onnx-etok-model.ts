import { BackendError, ModelFormatError, throwIfAborted } from '@decodekit/core';
import { charVocabSize, checkEtokConfig, type EtokConfig } from './etok-config.js';
import type { EtokCallOptions, EtokModel } from './learn-your-tokens.js';

/** An ONNX Runtime tensor (the part of `onnxruntime-common`'s Tensor this package reads). */
export interface EtokOrtTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** One ONNX Runtime session (structural: `onnxruntime-node`'s and `onnxruntime-web`'s both fit). */
export interface EtokOrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, EtokOrtTensor>): Promise<Readonly<Record<string, EtokOrtTensor>>>;
  release(): Promise<void>;
}

/**
 * The `ort` namespace of `onnxruntime-node` or `onnxruntime-web`, passed in by the caller so that this package
 * depends on `@decodekit/core` only and runs in Node and browsers alike.
 */
export interface EtokOrtRuntime {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: { intraOpNumThreads?: number }): Promise<EtokOrtSession>;
  };
  readonly Tensor: new (
    type: 'float32' | 'int64',
    data: Float32Array | BigInt64Array,
    dims: readonly number[],
  ) => EtokOrtTensor;
}

/** The three graphs of an exported eTok model (`buildEtokGraphs` of `@decodekit/models` writes them). */
export interface EtokGraphs {
  /** `char_ids` int64 [words, maxChars] → `word_vectors` float32 [words, dim]. */
  readonly charEncoder: Uint8Array;
  /** `word_vectors` [words, dim] → `prefixes` [words, numPrefix, dim]. */
  readonly wordTransformer: Uint8Array;
  /** `prefixes` [rows, numPrefix, dim] + `char_ids` int64 [rows, maxChars] → `logits` [rows, maxChars + 1, vocab]. */
  readonly charDecoder: Uint8Array;
}

/** An {@link EtokModel} whose sessions can be released. */
export interface OnnxEtokModel extends EtokModel {
  dispose(): Promise<void>;
}

const IO = {
  charEncoder: { inputs: ['char_ids'], output: 'word_vectors' },
  wordTransformer: { inputs: ['word_vectors'], output: 'prefixes' },
  charDecoder: { inputs: ['prefixes', 'char_ids'], output: 'logits' },
} as const;

/**
 * Runs an exported eTok model's three graphs with ONNX Runtime (one session each).
 * @param ort the `onnxruntime-node` or `onnxruntime-web` namespace
 * @param graphs the ONNX files' bytes
 * @param config the architecture the graphs were exported with
 * @param intraOpNumThreads ONNX Runtime threads per session (default 1: the graphs are tiny)
 * @throws ModelFormatError when a graph lacks the inputs or output it needs
 */
export async function onnxEtokModel({
  ort,
  graphs,
  config,
  intraOpNumThreads = 1,
}: {
  ort: EtokOrtRuntime;
  graphs: EtokGraphs;
  config: EtokConfig;
  intraOpNumThreads?: number;
}): Promise<OnnxEtokModel> {
  checkEtokConfig(config);
  const sessions: Partial<Record<keyof EtokGraphs, EtokOrtSession>> = {};
  try {
    for (const part of Object.keys(IO) as (keyof EtokGraphs)[]) {
      const session = await ort.InferenceSession.create(graphs[part], { intraOpNumThreads });
      sessions[part] = session;
      const inputs: readonly string[] = IO[part].inputs;
      const missing = inputs.filter(name => !session.inputNames.includes(name));
      if (!session.outputNames.includes(IO[part].output)) missing.push(IO[part].output);
      if (missing.length > 0) {
        throw new ModelFormatError({
          path: part,
          message: `lacks ${missing.join(', ')}; export the model with buildEtokGraphs (@decodekit/models).`,
        });
      }
    }
  } catch (error) {
    await Promise.all(Object.values(sessions).map(session => session.release()));
    throw error;
  }
  const session = (part: keyof EtokGraphs) => sessions[part] as EtokOrtSession;
  const { dim, numPrefix, maxChars } = config;
  const vocab = charVocabSize(config);
  const ids = (chars: Int32Array, rows: number) =>
    new ort.Tensor('int64', BigInt64Array.from(chars, BigInt), [rows, maxChars]);
  const run = async (
    part: keyof EtokGraphs,
    feeds: Record<string, EtokOrtTensor>,
    size: number,
    signal?: AbortSignal,
  ): Promise<Float32Array> => {
    throwIfAborted(signal);
    let outputs: Readonly<Record<string, EtokOrtTensor>>;
    try {
      outputs = await session(part).run(feeds);
    } catch (error) {
      throw new BackendError({
        message: `eTok ${part} failed: ${(error as Error).message}`,
        cause: error,
      });
    }
    const data = outputs[IO[part].output].data;
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw new ModelFormatError({
        path: part,
        message: `returned ${IO[part].output} of the wrong type or size (want ${size} float32 values); the graph does not match the config.`,
      });
    }
    return data;
  };
  return {
    config,
    encodeWords: (chars, words, options: EtokCallOptions = {}) =>
      run('charEncoder', { char_ids: ids(chars, words) }, words * dim, options.signal),
    predictWords: (wordVectors, words, options: EtokCallOptions = {}) =>
      run(
        'wordTransformer',
        { word_vectors: new ort.Tensor('float32', wordVectors, [words, dim]) },
        words * numPrefix * dim,
        options.signal,
      ),
    decodeChars: (prefixes, chars, rows, options: EtokCallOptions = {}) =>
      run(
        'charDecoder',
        {
          prefixes: new ort.Tensor('float32', prefixes, [rows, numPrefix, dim]),
          char_ids: ids(chars, rows),
        },
        rows * (maxChars + 1) * vocab,
        options.signal,
      ),
    async dispose() {
      await Promise.all(Object.values(sessions).map(s => s.release()));
    },
  };
}
