import { seededRandom, type CausalLM, type ForwardInput, type Sequence } from '@decodekit/core';

/** One recorded forward of {@link withInputEmbeddings}: the row ids, parents and embeddings passed. */
export interface EmbeddingsCall {
  prefixLength: number;
  tokens: number[];
  parents?: number[];
  embeddings?: Float32Array;
}

/**
 * A token-only test model (e.g. the conformance toy models) that accepts `forward({ embeddings })`: it records
 * the embeddings and computes logits from the rows' token ids, so prompt rows draft whatever the model predicts
 * after the pending token. Exactness of a speculative strategy must not depend on that.
 */
export function withInputEmbeddings(
  model: CausalLM,
  hiddenSize = 4,
): CausalLM & { calls: EmbeddingsCall[] } {
  const random = seededRandom(model.info.vocabSize);
  const table = Float32Array.from(
    { length: model.info.vocabSize * hiddenSize },
    () => random.next() * 2 - 1,
  );
  const calls: EmbeddingsCall[] = [];
  const wrap = (sequence: Sequence): Sequence => ({
    get tokens() {
      return sequence.tokens;
    },
    forward(input: ForwardInput, options) {
      calls.push({
        prefixLength: sequence.tokens.length,
        tokens: [...input.tokens],
        parents: input.parents && [...input.parents],
        embeddings: input.embeddings?.slice(),
      });
      const { embeddings: _ignored, ...tokensOnly } = input;
      return sequence.forward(tokensOnly, options);
    },
    commit: rows => sequence.commit(rows),
    truncate: length => sequence.truncate(length),
    fork: () => wrap(sequence.fork()),
    dispose: () => sequence.dispose(),
  });
  return {
    info: { ...model.info, hiddenSize },
    capabilities: { ...model.capabilities, inputEmbeddings: true },
    createSequence: () => wrap(model.createSequence()),
    embeddingTable: () => table,
    dispose: () => model.dispose(),
    calls,
  };
}
