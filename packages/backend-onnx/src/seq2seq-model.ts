import {
  BackendError,
  ContextLengthError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  invariant,
  throwIfAborted,
  type Capabilities,
  type EncoderDecoder,
  type Encoding,
  type ForwardOptions,
  type ModelInfo,
} from '@decodekit/core';
import { hostFloats } from './float16';
import type { FloatType } from './graph-io';
import { emptyCache, gatherCache } from './kv-cache';
import type { KvLedgerEngine, LedgerForward, LedgerRunResult } from './kv-ledger';
import { type ModelShape, specialTokenIds, tokenIds } from './model-config';
import { messageOf } from './onnx-model';
import type { OrtRuntime, OrtSession, OrtTensor } from './ort-runtime';
import { RunQueue } from './run-queue';

type Json = Readonly<Record<string, unknown>>;

/** KV tensors in `[0.key, 0.value, 1.key, ...]` order: immutable host tensors, shared, never freed. */
type HostCache = readonly OrtTensor[];

/** What an encoder-decoder config.json (BART, T5, Marian, ... names) says beyond ModelInfo. */
export interface Seq2SeqConfig {
  readonly info: ModelInfo;
  /** Shape of one decoder layer's self- and cross-attention cache. */
  readonly shape: ModelShape;
  readonly decoderStartTokenId: number;
  readonly maxSourceLength: number;
}

function integer(
  config: Json,
  keys: readonly string[],
  file: string,
  minimum = 1,
): number | undefined {
  for (const key of keys) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
      throw new ModelFormatError({
        path: file,
        message: `"${key}" must be an integer of at least ${minimum}, got ${JSON.stringify(value)}.`,
      });
    }
    return value;
  }
  return undefined;
}

function required(config: Json, keys: readonly string[], file: string, minimum = 1): number {
  const value = integer(config, keys, file, minimum);
  if (value === undefined) {
    throw new ModelFormatError({
      path: file,
      message: `missing "${keys[0]}"${keys.length > 1 ? ` (or ${keys.slice(1).join(', ')})` : ''}. An encoder-decoder export's config.json names its decoder's layers, heads and width (BART: decoder_layers, decoder_attention_heads, d_model; T5: num_decoder_layers, num_heads, d_kv, d_model).`,
    });
  }
  return value;
}

/**
 * ModelInfo, the decoder's KV shape, the decoder start token and the longest source from an encoder-decoder
 * `config.json` (and `generation_config.json`), read in BART's names with T5's as fallbacks. T5's relative
 * positions have no table: its length limit is `n_positions` (512 in its configs).
 */
export function readSeq2SeqConfig(
  config: Json,
  generationConfig: Json | undefined,
  name: string,
  file = 'config.json',
): Seq2SeqConfig {
  const vocabSize = required(config, ['vocab_size'], file);
  const numLayers = required(
    config,
    ['decoder_layers', 'num_decoder_layers', 'num_layers', 'num_hidden_layers'],
    file,
  );
  const hiddenSize = required(config, ['d_model', 'hidden_size'], file);
  const heads = required(
    config,
    ['decoder_attention_heads', 'num_heads', 'num_attention_heads'],
    file,
  );
  const headDim = integer(config, ['d_kv', 'head_dim'], file) ?? hiddenSize / heads;
  if (!Number.isInteger(headDim)) {
    throw new ModelFormatError({
      path: file,
      message: `d_model ${hiddenSize} is not divisible by ${heads} decoder heads; add "d_kv".`,
    });
  }
  const contextLength = required(config, ['max_position_embeddings', 'n_positions'], file);
  const generationFile = 'generation_config.json';
  const decoderStartTokenId =
    tokenIds(
      generationConfig?.decoder_start_token_id,
      'decoder_start_token_id',
      generationFile,
    )?.[0] ?? tokenIds(config.decoder_start_token_id, 'decoder_start_token_id', file)?.[0];
  if (decoderStartTokenId === undefined) {
    throw new ModelFormatError({
      path: file,
      message:
        'has no "decoder_start_token_id": an encoder-decoder model needs the token its decoder starts from (BART: eos_token_id, T5: pad_token_id). Add it to config.json.',
    });
  }
  const { eosTokenIds, bosTokenId } = specialTokenIds(config, generationConfig, file, vocabSize, [
    decoderStartTokenId,
  ]);
  return {
    info: {
      name,
      vocabSize,
      contextLength,
      bosTokenId,
      eosTokenIds,
      numLayers,
      hiddenSize,
    },
    shape: { kvHeads: heads, headDim },
    decoderStartTokenId,
    maxSourceLength: contextLength,
  };
}

/** The graphs of an encoder-decoder export, opened. */
export interface Seq2SeqSessions {
  readonly encoder: OrtSession;
  readonly encoderFile: string;
  /** `decoder_model_merged.onnx`, or the with-past graph of a split pair. */
  readonly decoder: OrtSession;
  readonly decoderFile: string;
  /** `decoder_model.onnx` of a split pair: runs the first step and computes the cross-attention cache. */
  readonly first?: OrtSession;
  readonly firstFile?: string;
}

/** Per encoding: the encoder output as the decoder is fed it, and the cross-attention cache once computed. */
interface EncodingState {
  readonly hidden: OrtTensor;
  readonly mask: OrtTensor;
  /** `present.{i}.encoder.*` of the first decoder step, in cache order. */
  cross?: HostCache;
}

const pastName = (layer: number, side: 'decoder' | 'encoder', part: 'key' | 'value') =>
  `past_key_values.${layer}.${side}.${part}`;
const presentName = (layer: number, side: 'decoder' | 'encoder', part: 'key' | 'value') =>
  `present.${layer}.${side}.${part}`;

/**
 * An encoder-decoder export run by ONNX Runtime: the encoder once per source, the decoder through the
 * KV ledger (one `KvLedgerSequence` per decoder sequence, over a per-encoding view of this engine). The
 * first decoder step of an encoding computes the cross-attention keys and values (`present.{i}.encoder.*`);
 * every later step of every sequence of that encoding reuses them (optimum's `use_cache_branch`, or the
 * with-past graph of a split pair).
 */
export class Seq2SeqEngine {
  readonly queue = new RunQueue();
  disposed = false;
  /** Encoder runs so far (one per request). */
  encoderRuns = 0;
  /** Decoder runs that computed a cross-attention cache (one per encoding). */
  crossAttentionRuns = 0;
  readonly capabilities: Capabilities;
  readonly emptyCache: HostCache;
  readonly kvType: FloatType;
  readonly logitsType: FloatType;
  private readonly encodings = new WeakMap<Encoding, EncodingState>();
  private readonly decoderFetches: string[];
  private readonly firstFetches: string[];

  constructor(
    readonly ort: OrtRuntime,
    readonly sessions: Seq2SeqSessions,
    readonly info: ModelInfo,
    readonly shape: ModelShape,
    backendId: string,
  ) {
    this.capabilities = { tree: false, hiddenStates: false, layerSkip: false, backendId };
    const layers = info.numLayers;
    const { encoder, decoder, first } = sessions;
    const missing = (
      session: OrtSession,
      file: string,
      kind: 'input' | 'output',
      names: string[],
    ) => {
      const have = new Set(kind === 'input' ? session.inputNames : session.outputNames);
      const absent = names.filter(name => !have.has(name));
      if (absent.length > 0) {
        throw new ModelFormatError({
          path: file,
          message: `has no ${kind} ${absent.slice(0, 4).join(', ')}${absent.length > 4 ? ', ...' : ''}. decodekit runs optimum / transformers.js seq2seq exports: encoder_model.onnx (input_ids, attention_mask → last_hidden_state) and decoder_model_merged.onnx or decoder_model.onnx + decoder_with_past_model.onnx (input_ids, encoder_hidden_states, encoder_attention_mask, past_key_values.{i}.decoder|encoder.key|value → logits, present.{i}.decoder|encoder.key|value). Its ${kind}s are ${(kind === 'input' ? session.inputNames : session.outputNames).join(', ')}.`,
        });
      }
    };
    const perLayer = (make: (layer: number) => string[]) =>
      Array.from({ length: layers }, (_, layer) => make(layer)).flat();
    const decoderPresents = perLayer(layer => [
      presentName(layer, 'decoder', 'key'),
      presentName(layer, 'decoder', 'value'),
    ]);
    const encoderPresents = perLayer(layer => [
      presentName(layer, 'encoder', 'key'),
      presentName(layer, 'encoder', 'value'),
    ]);
    const pasts = perLayer(layer => [
      pastName(layer, 'decoder', 'key'),
      pastName(layer, 'decoder', 'value'),
      pastName(layer, 'encoder', 'key'),
      pastName(layer, 'encoder', 'value'),
    ]);
    missing(encoder, sessions.encoderFile, 'input', ['input_ids']);
    missing(encoder, sessions.encoderFile, 'output', ['last_hidden_state']);
    missing(decoder, sessions.decoderFile, 'input', ['input_ids', ...pasts]);
    missing(decoder, sessions.decoderFile, 'output', ['logits', ...decoderPresents]);
    if (first === undefined) {
      // A merged decoder computes the cross-attention cache in its no-cache branch.
      missing(decoder, sessions.decoderFile, 'input', [
        'encoder_hidden_states',
        'use_cache_branch',
      ]);
      missing(decoder, sessions.decoderFile, 'output', encoderPresents);
    } else {
      const firstFile = sessions.firstFile ?? 'decoder_model.onnx';
      missing(first, firstFile, 'input', ['input_ids', 'encoder_hidden_states']);
      missing(first, firstFile, 'output', ['logits', ...decoderPresents, ...encoderPresents]);
    }
    const typeOf = (session: OrtSession, name: string, kind: 'input' | 'output'): FloatType => {
      const metadata = (kind === 'input' ? session.inputMetadata : session.outputMetadata)?.find(
        entry => entry.name === name,
      );
      return metadata?.isTensor && metadata.type === 'float16' ? 'float16' : 'float32';
    };
    this.kvType = typeOf(decoder, pastName(0, 'decoder', 'key'), 'input');
    this.logitsType = typeOf(decoder, 'logits', 'output');
    this.emptyCache = emptyCache(ort, shape, 2 * layers, this.kvType);
    this.decoderFetches = ['logits', ...decoderPresents];
    this.firstFetches = ['logits', ...decoderPresents, ...encoderPresents];
  }

  /** Runs the encoder over `tokens` (once per request) and returns the encoding the decoder reads. */
  async encode(tokens: Int32Array, options?: ForwardOptions): Promise<Encoding> {
    const signal = options?.signal;
    throwIfAborted(signal);
    if (this.disposed) throw new DisposedError({ what: `The model ${this.info.name}` });
    const { vocabSize, contextLength } = this.info;
    if (tokens.length === 0) {
      throw new InvalidArgumentError({
        argument: 'tokens',
        message: 'the source is empty: an encoder-decoder model encodes at least one token.',
      });
    }
    if (tokens.length > contextLength) {
      throw new ContextLengthError({
        length: tokens.length,
        contextLength,
        what: `The source (${tokens.length} tokens)`,
      });
    }
    for (const token of tokens) {
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new InvalidArgumentError({
          argument: 'tokens',
          message: `token id ${token} is outside the vocabulary [0, ${vocabSize}).`,
        });
      }
    }
    const { ort } = this;
    const dims = [1, tokens.length];
    const inputIds = new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), dims);
    const mask = new ort.Tensor('int64', new BigInt64Array(tokens.length).fill(1n), dims);
    const { encoder, encoderFile } = this.sessions;
    const outputs = await this.queue.run(async () => {
      if (this.disposed) throw new DisposedError({ what: `The model ${this.info.name}` });
      throwIfAborted(signal);
      const feeds: Record<string, OrtTensor> = { input_ids: inputIds };
      if (encoder.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
      try {
        return await encoder.run(feeds, ['last_hidden_state']);
      } catch (error) {
        throw new BackendError({
          message: `ONNX Runtime failed to run the encoder (${encoderFile}) of ${this.info.name}: ${messageOf(error)}`,
          cause: error,
        });
      }
    }, signal);
    throwIfAborted(signal);
    this.encoderRuns += 1;
    const hidden = outputs.last_hidden_state;
    const floats = hostFloats(hidden.data);
    if (floats === undefined || floats.length !== tokens.length * this.info.hiddenSize) {
      throw new ModelFormatError({
        path: encoderFile,
        message: `"last_hidden_state" holds ${floats?.length ?? 0} values for ${tokens.length} tokens, expected ${tokens.length} × d_model ${this.info.hiddenSize}. The config does not belong to this encoder.`,
      });
    }
    const encoding: Encoding = { tokens: Array.from(tokens), hidden: floats };
    this.encodings.set(encoding, { hidden, mask });
    return encoding;
  }

  /** The KV-ledger engine of the sequences of one encoding (sharing its cross-attention cache). */
  view(encoding: Encoding | undefined): KvLedgerEngine<HostCache> {
    const state = encoding === undefined ? undefined : this.encodings.get(encoding);
    if (state === undefined) {
      throw new InvalidArgumentError({
        argument: 'encoding',
        message:
          encoding === undefined
            ? `${this.info.name} is an encoder-decoder model: open its sequences from an encoding, model.createSequence({ encoding: await model.encoderDecoder.encode(sourceIds) }) (createDecoder does this for you).`
            : `this encoding was not made by ${this.info.name}'s encoder; encode the source with this model's encoderDecoder.encode().`,
      });
    }
    const isDisposed = () => this.disposed;
    return {
      info: this.info,
      capabilities: this.capabilities,
      queue: this.queue,
      get disposed() {
        return isDisposed();
      },
      emptyCache: this.emptyCache,
      run: (past, forward) => this.runDecoder(state, past, forward),
      gather: (source, sourceSlots, positions) =>
        positions.length === 0
          ? this.emptyCache
          : gatherCache(this.ort, source, sourceSlots, positions, this.shape, this.kvType),
      retain: cache => cache,
      release: () => undefined,
    };
  }

  /** One decoder forward after `past` (inside the queue). */
  private async runDecoder(
    state: EncodingState,
    past: HostCache,
    forward: LedgerForward,
  ): Promise<LedgerRunResult<HostCache>> {
    const { ort, sessions, info } = this;
    const layers = info.numLayers;
    const cross = state.cross;
    // The first step of an encoding computes the cross-attention cache; later ones reuse it.
    const session = cross === undefined ? (sessions.first ?? sessions.decoder) : sessions.decoder;
    const file =
      cross === undefined && sessions.first !== undefined
        ? (sessions.firstFile ?? 'decoder_model.onnx')
        : sessions.decoderFile;
    invariant(
      cross !== undefined || forward.pastSlots === 0,
      'a decoder cache exists only after the first step, which computed the cross-attention cache',
    );
    const rows = forward.tokens.length;
    const inputs = new Set(session.inputNames);
    const feeds: Record<string, OrtTensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(forward.tokens, BigInt), [1, rows]),
    };
    if (inputs.has('encoder_hidden_states')) feeds.encoder_hidden_states = state.hidden;
    if (inputs.has('encoder_attention_mask')) feeds.encoder_attention_mask = state.mask;
    if (inputs.has('use_cache_branch'))
      feeds.use_cache_branch = new ort.Tensor(
        'bool',
        Uint8Array.of(cross === undefined ? 0 : 1),
        [1],
      );
    if (inputs.has(pastName(0, 'decoder', 'key'))) {
      // Without the cache branch the pasts are ignored: empty tensors of the cache layout.
      const crossCache = cross ?? this.emptyCache;
      for (let layer = 0; layer < layers; layer++) {
        feeds[pastName(layer, 'decoder', 'key')] = past[2 * layer];
        feeds[pastName(layer, 'decoder', 'value')] = past[2 * layer + 1];
        feeds[pastName(layer, 'encoder', 'key')] = crossCache[2 * layer];
        feeds[pastName(layer, 'encoder', 'value')] = crossCache[2 * layer + 1];
      }
    }
    const fetches = cross === undefined ? this.firstFetches : this.decoderFetches;
    let outputs: Readonly<Record<string, OrtTensor>>;
    try {
      outputs = await session.run(feeds, fetches);
    } catch (error) {
      throw new BackendError({
        message: `ONNX Runtime failed to run the decoder (${file}) of ${info.name}: ${messageOf(error)}`,
        cause: error,
      });
    }
    const logits = hostFloats(outputs.logits.data);
    if (logits === undefined || logits.length !== rows * info.vocabSize) {
      throw new ModelFormatError({
        path: file,
        message: `"logits" has ${(logits?.length ?? 0) / rows} columns per row but config.json says vocab_size ${info.vocabSize}. The config does not belong to this graph.`,
      });
    }
    const presents: OrtTensor[] = [];
    for (let layer = 0; layer < layers; layer++) {
      presents.push(outputs[presentName(layer, 'decoder', 'key')]);
      presents.push(outputs[presentName(layer, 'decoder', 'value')]);
    }
    if (cross === undefined) {
      const computed: OrtTensor[] = [];
      for (let layer = 0; layer < layers; layer++) {
        computed.push(outputs[presentName(layer, 'encoder', 'key')]);
        computed.push(outputs[presentName(layer, 'encoder', 'value')]);
      }
      state.cross = computed;
      this.crossAttentionRuns += 1;
    }
    return { logits, presents };
  }

  /** What `LoadedModel.encoderDecoder` exposes. */
  encoderDecoder(decoderStartTokenId: number, maxSourceLength: number): EncoderDecoder {
    return {
      decoderStartTokenId,
      maxSourceLength,
      encode: (tokens, options) => this.encode(tokens, options),
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.drain();
    const { encoder, decoder, first } = this.sessions;
    try {
      await encoder.release();
      await decoder.release();
      await first?.release();
    } catch (error) {
      throw new BackendError({
        message: `ONNX Runtime failed to release the sessions: ${messageOf(error)}`,
        cause: error,
      });
    }
  }
}
