// Kept in step with OnnxEngine.validate in @decodekit/backend-onnx/src/onnx-model.ts, which does not export
// it (see README, "Shared code").
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

/** Throws unless the forward is valid for this graph; returns the parents as null for a chain. */
export function checkForward(
  input: ForwardInput,
  pastLength: number,
  info: ModelInfo,
  capabilities: Capabilities,
): Int32Array | null {
  const { tokens, parents, hidden, skipLayers } = input;
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
  return chain ? null : (parents as Int32Array);
}
