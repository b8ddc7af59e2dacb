import { ModelFormatError } from '@decodekit/core';
import type { OrtSession, OrtValueMetadata } from './ort-runtime';
import type { ModelShape } from './model-config';

/** Element type of the KV cache and of the logits: what the graph declares, fed and read as such. */
export type FloatType = 'float32' | 'float16';

/** Names and shapes of a decoder graph's inputs and outputs, discovered by name (docs/graph-io.md). */
export interface GraphIO {
  /** Path of the graph inside the model folder (for error messages). */
  readonly file?: string;
  readonly numLayers: number;
  readonly hasAttentionMask: boolean;
  readonly hasPositionIds: boolean;
  /** `attention_bias` [1, 1, n, past + n] input → tree attention. */
  readonly hasAttentionBias: boolean;
  /** `hidden_states` [1, n, hidden] output. */
  readonly hasHiddenStates: boolean;
  /** `skip_layers` bool [L] input. */
  readonly hasSkipLayers: boolean;
  /**
   * Name of the scalar int64 input that limits how many trailing rows get logits (`num_logits_to_keep` or
   * `logits_to_keep`, in transformers.js exports); fed the row count, so every row gets its logits.
   */
  readonly logitsToKeep?: string;
  /** Merged decoders (optimum): a bool [1] `use_cache_branch` input, fed true once the cache holds tokens. */
  readonly hasUseCacheBranch: boolean;
  /** `past_key_values.{i}.key`, `past_key_values.{i}.value` for i = 0..L-1, interleaved. [2L] */
  readonly pastNames: readonly string[];
  /** `present.{i}.key`, `present.{i}.value`, in the same order as `pastNames`. [2L] */
  readonly presentNames: readonly string[];
  /** Element type of `past_key_values.*` and `present.*`: the cache stays in it. */
  readonly kvType: FloatType;
  /** Element type of `logits`; float16 logits are widened once to float32 per forward. */
  readonly logitsType: FloatType;
  /** KV heads and head width, from the graph when its shapes are static, else from config.json. */
  readonly shape: ModelShape;
  /** Static vocabulary width of `logits`, when the graph declares it. */
  readonly logitsWidth?: number;
}

/** The graph layouts decodekit loads, named in errors about graphs it cannot feed. */
export const SUPPORTED_LAYOUTS =
  'decodekit loads decoder-only graphs with KV cache I/O: inputs input_ids (int64), past_key_values.{i}.key|value ' +
  '(float32 or float16) and optionally attention_mask, position_ids, num_logits_to_keep / logits_to_keep, ' +
  'use_cache_branch (merged decoders), attention_bias and skip_layers (decodekit conversions); outputs logits ' +
  '(float32 or float16) and present.{i}.key|value. Folders: config.json with onnx/model.onnx, model.onnx, ' +
  'decoder_model_merged.onnx or the decoder_model.onnx + decoder_with_past_model.onnx pair; onnxruntime-genai ' +
  'folders with genai_config.json (see docs/graph-io.md)';

function metadataOf(
  list: readonly OrtValueMetadata[] | undefined,
  name: string,
): OrtValueMetadata | undefined {
  return list?.find(entry => entry.name === name);
}

function staticDim(meta: OrtValueMetadata | undefined, axis: number): number | undefined {
  if (!meta?.isTensor) return undefined;
  const dim = meta.shape[axis];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/** Options of {@link discoverGraphIO}. */
export interface DiscoverOptions {
  /** Path of the graph inside the folder, for error messages (default `onnx/model.onnx`). */
  readonly file?: string;
  /**
   * The graph is the first half of a split pair (`decoder_model.onnx`): it takes no past and only returns
   * the presents; the number of layers then comes from its `present.*` outputs.
   */
  readonly withoutPast?: boolean;
}

/** Reads the I/O of a loaded decoder graph and checks it against docs/graph-io.md. */
export function discoverGraphIO(
  session: OrtSession,
  configShape: ModelShape,
  { file = 'onnx/model.onnx', withoutPast = false }: DiscoverOptions = {},
): GraphIO {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const listing =
    `The graph's inputs are ${session.inputNames.join(', ')}; its outputs are ${session.outputNames.join(', ')}. ` +
    `${SUPPORTED_LAYOUTS}.`;
  const missing = (kind: string, name: string) =>
    new ModelFormatError({ path: file, message: `the graph has no ${kind} "${name}". ${listing}` });
  if (!inputs.has('input_ids')) throw missing('input', 'input_ids');
  if (!outputs.has('logits')) throw missing('output', 'logits');
  let numLayers = 0;
  const layerProbe = withoutPast ? 'present.%.key' : 'past_key_values.%.key';
  const names = withoutPast ? outputs : inputs;
  while (names.has(layerProbe.replace('%', String(numLayers)))) numLayers++;
  if (numLayers === 0)
    throw missing(withoutPast ? 'output' : 'input', layerProbe.replace('%', '0'));
  const pastNames: string[] = [];
  const presentNames: string[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    for (const part of ['key', 'value']) {
      const past = `past_key_values.${layer}.${part}`;
      const present = `present.${layer}.${part}`;
      if (!withoutPast && !inputs.has(past)) throw missing('input', past);
      if (!outputs.has(present)) throw missing('output', present);
      pastNames.push(past);
      presentNames.push(present);
    }
  }
  const logitsToKeep = ['num_logits_to_keep', 'logits_to_keep'].find(name => inputs.has(name));
  const known = new Set([
    'input_ids',
    'attention_mask',
    'position_ids',
    'attention_bias',
    'skip_layers',
    'use_cache_branch',
    ...(logitsToKeep === undefined ? [] : [logitsToKeep]),
    ...(withoutPast ? [] : pastNames),
  ]);
  const unknown = session.inputNames.filter(name => !known.has(name));
  if (unknown.length > 0) {
    throw new ModelFormatError({
      path: file,
      message: `the graph has inputs decodekit does not know how to feed: ${unknown.join(', ')}. ${listing}`,
    });
  }
  const inputMeta = session.inputMetadata;
  const outputMeta = session.outputMetadata;
  const expectType = (
    meta: OrtValueMetadata | undefined,
    name: string,
    types: readonly string[],
  ) => {
    if (meta?.isTensor && !types.includes(meta.type)) {
      const hint =
        meta.type === 'bfloat16'
          ? ' ONNX Runtime for JavaScript has no bfloat16 tensors; export the model in float16 or float32.'
          : '';
      throw new ModelFormatError({
        path: file,
        message: `"${name}" is ${meta.type} but decodekit feeds ${types.join(' or ')}.${hint} ${listing}`,
      });
    }
    return meta?.isTensor ? meta.type : undefined;
  };
  expectType(metadataOf(inputMeta, 'input_ids'), 'input_ids', ['int64']);
  expectType(metadataOf(inputMeta, 'attention_mask'), 'attention_mask', ['int64']);
  expectType(metadataOf(inputMeta, 'position_ids'), 'position_ids', ['int64']);
  expectType(metadataOf(inputMeta, 'attention_bias'), 'attention_bias', ['float32']);
  expectType(metadataOf(inputMeta, 'skip_layers'), 'skip_layers', ['bool']);
  expectType(metadataOf(inputMeta, 'use_cache_branch'), 'use_cache_branch', ['bool']);
  if (logitsToKeep !== undefined)
    expectType(metadataOf(inputMeta, logitsToKeep), logitsToKeep, ['int64']);
  const floats = ['float32', 'float16'];
  // The cache's dtype: past inputs and present outputs must agree, since presents are fed back as pasts.
  const kvMeta = withoutPast
    ? metadataOf(outputMeta, presentNames[0])
    : metadataOf(inputMeta, pastNames[0]);
  const kvType = (expectType(kvMeta, withoutPast ? presentNames[0] : pastNames[0], floats) ??
    'float32') as FloatType;
  for (const name of presentNames) {
    const type = expectType(metadataOf(outputMeta, name), name, floats);
    if (type !== undefined && type !== kvType) {
      throw new ModelFormatError({
        path: file,
        message: `"${name}" is ${type} but the past inputs are ${kvType}; decodekit feeds presents back as pasts. ${listing}`,
      });
    }
  }
  const logitsType = (expectType(metadataOf(outputMeta, 'logits'), 'logits', floats) ??
    'float32') as FloatType;
  const shape: ModelShape = {
    kvHeads: staticDim(kvMeta, 1) ?? configShape.kvHeads,
    headDim: staticDim(kvMeta, 3) ?? configShape.headDim,
  };
  return {
    file,
    numLayers,
    hasAttentionMask: inputs.has('attention_mask'),
    hasPositionIds: inputs.has('position_ids'),
    hasAttentionBias: inputs.has('attention_bias'),
    hasHiddenStates: outputs.has('hidden_states'),
    hasSkipLayers: inputs.has('skip_layers'),
    ...(logitsToKeep === undefined ? {} : { logitsToKeep }),
    hasUseCacheBranch: inputs.has('use_cache_branch'),
    pastNames,
    presentNames,
    kvType,
    logitsType,
    shape,
    logitsWidth: staticDim(metadataOf(outputMeta, 'logits'), 2),
  };
}
