import {
  ContextLengthError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type Capabilities,
  type ForwardInput,
  type ModelInfo,
} from '@decodekit/core';

const treeHint =
  'This model folder is a plain export without the "attention_bias" input, so it can only run chains. ' +
  'Convert it with `decodekit convert` without --plain to get tree attention, or use a strategy that drafts chains.';

const embedsHint =
  'This model folder has no onnx/model_embeds.onnx (the inputs_embeds graph). Convert the llama2.c model again ' +
  'with `decodekit convert` without --plain (converter version 2 writes it), or load it with the onnx-cpu backend.';

/**
 * Throws unless `input` is a valid forward for a graph with these capabilities after `pastLength` committed
 * tokens; returns the parents, or null for a chain. Shared by every ONNX backend (CPU, wasm, WebGPU, CUDA).
 */
export function checkForward(
  input: ForwardInput,
  pastLength: number,
  info: ModelInfo,
  capabilities: Capabilities,
): Int32Array | null {
  const { tokens, parents, hidden, skipLayers, embeddings } = input;
  const rows = tokens instanceof Int32Array ? tokens.length : 0;
  const { vocabSize, contextLength, numLayers } = info;
  const backendId = capabilities.backendId;
  if (!(tokens instanceof Int32Array) || rows === 0) {
    throw new InvalidArgumentError({
      argument: 'tokens',
      message: 'forward() needs a non-empty Int32Array of token ids.',
    });
  }
  for (let row = 0; row < rows; row++) {
    const token = tokens[row];
    if (token < 0 || token >= vocabSize) {
      throw new InvalidArgumentError({
        argument: 'tokens',
        message: `token id ${token} at row ${row} is outside the vocabulary [0, ${vocabSize}).`,
      });
    }
  }
  if (pastLength + rows > contextLength) {
    throw new ContextLengthError({
      length: pastLength + rows,
      contextLength,
      what: `This forward (${pastLength} committed + ${rows} new tokens)`,
    });
  }
  let chain = true;
  if (parents !== undefined) {
    if (parents.length !== rows) {
      throw new InvalidArgumentError({
        argument: 'parents',
        message: `has ${parents.length} entries for ${rows} tokens.`,
      });
    }
    for (let row = 0; row < rows; row++) {
      const parent = parents[row];
      if (!Number.isInteger(parent) || parent < -1 || parent >= row) {
        throw new InvalidArgumentError({
          argument: 'parents',
          message: `parents[${row}] = ${parent}; a parent must be -1 (the committed prefix) or an earlier row.`,
        });
      }
      if (parent !== row - 1) chain = false;
    }
  }
  if (!chain && !capabilities.tree) {
    throw new UnsupportedCapabilityError({ capability: 'tree', backendId, hint: treeHint });
  }
  if (hidden === true && !capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId,
      hint: 'The graph has no "hidden_states" output; convert the model with `decodekit convert` without --plain.',
    });
  }
  if (skipLayers !== undefined && skipLayers.length > 0) {
    if (!capabilities.layerSkip) {
      throw new UnsupportedCapabilityError({
        capability: 'layerSkip',
        backendId,
        hint: 'The graph has no "skip_layers" input; convert the model with `decodekit convert` without --plain.',
      });
    }
    for (const layer of skipLayers) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= numLayers) {
        throw new InvalidArgumentError({
          argument: 'skipLayers',
          message: `layer ${layer} is not in [0, ${numLayers}).`,
        });
      }
    }
  }
  if (embeddings !== undefined) {
    if (!capabilities.inputEmbeddings) {
      throw new UnsupportedCapabilityError({
        capability: 'inputEmbeddings',
        backendId,
        hint: embedsHint,
      });
    }
    if (!(embeddings instanceof Float32Array) || embeddings.length !== rows * info.hiddenSize) {
      throw new InvalidArgumentError({
        argument: 'embeddings',
        message: `must be a Float32Array of ${rows} rows × hiddenSize ${info.hiddenSize} = ${rows * info.hiddenSize} floats, got ${embeddings instanceof Float32Array ? embeddings.length : typeof embeddings}.`,
      });
    }
  }
  return chain ? null : (parents as Int32Array);
}
