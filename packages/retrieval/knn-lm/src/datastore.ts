import { InvalidArgumentError, UnsupportedCapabilityError, type CausalLM } from '@decodekit/core';

/** kNN-LM datastore: key i = the model's hidden state before token `values[i]`. */
export interface Datastore {
  /** Width of one key (the model's hidden size). */
  readonly dimensions: number;
  /** Keys, row-major. [size, dimensions] */
  readonly keys: Float32Array;
  /** Next token of each key. [size] */
  readonly values: Int32Array;
  readonly size: number;
}

/** Options of `buildDatastore`. */
export interface BuildDatastoreOptions {
  /** A model with `capabilities.hiddenStates`. */
  readonly model: CausalLM;
  /** Token sequences of the corpus (each one as the model reads it, BOS included when the model uses one). */
  readonly sequences: readonly (readonly number[])[];
  readonly signal?: AbortSignal;
}

/**
 * Builds the datastore of kNN-LM (Khandelwal et al., 2020, https://arxiv.org/abs/1911.00172): one chain forward
 * per window of `contextLength` tokens with `hidden: true`; row i's hidden state is the key of token i + 1.
 * Sequences longer than the context are cut into consecutive windows (each window restarts the KV state).
 */
export async function buildDatastore({
  model,
  sequences,
  signal,
}: BuildDatastoreOptions): Promise<Datastore> {
  if (!model.capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId: model.info.name,
      hint: 'kNN-LM keys are hidden states: use a model whose graph has a hidden_states output.',
    });
  }
  const dimensions = model.info.hiddenSize;
  const window = model.info.contextLength;
  const keys: Float32Array[] = [];
  const values: number[] = [];
  for (const sequence of sequences) {
    for (let start = 0; start + 1 < sequence.length; start += window) {
      const tokens = Int32Array.from(sequence.slice(start, start + window));
      const state = model.createSequence();
      try {
        const { hidden } = await state.forward({ tokens, hidden: true }, { signal });
        if (!hidden || hidden.length !== tokens.length * dimensions) {
          throw new InvalidArgumentError({
            argument: 'model',
            message: `forward returned no hidden states of width ${dimensions}`,
          });
        }
        // The last row of a window has its next token in the following window (or none).
        const next = sequence.slice(start + 1, start + window + 1);
        const rows = Math.min(tokens.length, next.length);
        keys.push(hidden.slice(0, rows * dimensions));
        values.push(...next.slice(0, rows));
      } finally {
        state.dispose();
      }
    }
  }
  const flat = new Float32Array(values.length * dimensions);
  let offset = 0;
  for (const block of keys) {
    flat.set(block, offset);
    offset += block.length;
  }
  return { dimensions, keys: flat, values: Int32Array.from(values), size: values.length };
}
