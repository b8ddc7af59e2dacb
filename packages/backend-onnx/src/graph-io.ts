import { ModelFormatError } from '@decodekit/core';
import type { OrtSession, OrtValueMetadata } from './ort-runtime';
import type { ModelShape } from './model-config';

/** Names and shapes of a decoder graph's inputs and outputs, discovered by name (docs/graph-io.md). */
export interface GraphIO {
  readonly numLayers: number;
  readonly hasAttentionMask: boolean;
  readonly hasPositionIds: boolean;
  /** `attention_bias` [1, 1, n, past + n] input → tree attention. */
  readonly hasAttentionBias: boolean;
  /** `hidden_states` [1, n, hidden] output. */
  readonly hasHiddenStates: boolean;
  /** `skip_layers` bool [L] input. */
  readonly hasSkipLayers: boolean;
  /** `past_key_values.{i}.key`, `past_key_values.{i}.value` for i = 0..L-1, interleaved. [2L] */
  readonly pastNames: readonly string[];
  /** `present.{i}.key`, `present.{i}.value`, in the same order as `pastNames`. [2L] */
  readonly presentNames: readonly string[];
  /** KV heads and head width, from the graph when its shapes are static, else from config.json. */
  readonly shape: ModelShape;
  /** Static vocabulary width of `logits`, when the graph declares it. */
  readonly logitsWidth?: number;
}

const onnxFile = 'onnx/model.onnx';

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

function expectType(meta: OrtValueMetadata | undefined, name: string, type: string): void {
  if (meta?.isTensor && meta.type !== type) {
    throw new ModelFormatError({
      path: onnxFile,
      message: `"${name}" is ${meta.type} but decodekit feeds ${type} (see docs/graph-io.md).`,
    });
  }
}

/** Reads the I/O of a loaded decoder graph and checks it against docs/graph-io.md. */
export function discoverGraphIO(session: OrtSession, configShape: ModelShape): GraphIO {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const missing = (kind: string, name: string) =>
    new ModelFormatError({
      path: onnxFile,
      message:
        `the graph has no ${kind} "${name}". decodekit needs a decoder-only graph with KV cache I/O ` +
        '(input_ids, past_key_values.{i}.key|value → logits, present.{i}.key|value); export it with ' +
        '`decodekit convert` or a transformers.js-compatible exporter (see docs/graph-io.md).',
    });
  if (!inputs.has('input_ids')) throw missing('input', 'input_ids');
  if (!outputs.has('logits')) throw missing('output', 'logits');
  let numLayers = 0;
  while (inputs.has(`past_key_values.${numLayers}.key`)) numLayers++;
  if (numLayers === 0) throw missing('input', 'past_key_values.0.key');
  const pastNames: string[] = [];
  const presentNames: string[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    for (const part of ['key', 'value']) {
      const past = `past_key_values.${layer}.${part}`;
      const present = `present.${layer}.${part}`;
      if (!inputs.has(past)) throw missing('input', past);
      if (!outputs.has(present)) throw missing('output', present);
      pastNames.push(past);
      presentNames.push(present);
    }
  }
  const known = new Set([
    'input_ids',
    'attention_mask',
    'position_ids',
    'attention_bias',
    'skip_layers',
    ...pastNames,
  ]);
  const unknown = session.inputNames.filter(name => !known.has(name));
  if (unknown.length > 0) {
    throw new ModelFormatError({
      path: onnxFile,
      message: `the graph has inputs decodekit does not know how to feed: ${unknown.join(', ')} (see docs/graph-io.md).`,
    });
  }
  const inputMeta = session.inputMetadata;
  expectType(metadataOf(inputMeta, 'input_ids'), 'input_ids', 'int64');
  expectType(metadataOf(inputMeta, 'attention_mask'), 'attention_mask', 'int64');
  expectType(metadataOf(inputMeta, 'position_ids'), 'position_ids', 'int64');
  expectType(metadataOf(inputMeta, 'attention_bias'), 'attention_bias', 'float32');
  expectType(metadataOf(inputMeta, 'skip_layers'), 'skip_layers', 'bool');
  const pastMeta = metadataOf(inputMeta, pastNames[0]);
  expectType(pastMeta, pastNames[0], 'float32');
  const shape: ModelShape = {
    kvHeads: staticDim(pastMeta, 1) ?? configShape.kvHeads,
    headDim: staticDim(pastMeta, 3) ?? configShape.headDim,
  };
  return {
    numLayers,
    hasAttentionMask: inputs.has('attention_mask'),
    hasPositionIds: inputs.has('position_ids'),
    hasAttentionBias: inputs.has('attention_bias'),
    hasHiddenStates: outputs.has('hidden_states'),
    hasSkipLayers: inputs.has('skip_layers'),
    pastNames,
    presentNames,
    shape,
    logitsWidth: staticDim(metadataOf(session.outputMetadata, 'logits'), 2),
  };
}
