import type { CausalLM, ForwardInput, Sequence } from '@decodekit/core';

/** One recorded forward of {@link withLayerSplit}: what the drafter asked for. */
export interface SplitCall {
  prefixLength: number;
  tokens: number[];
  skipLayers?: number[];
  hidden?: boolean;
  embeddings?: Float32Array;
}

/**
 * A token-only test model (e.g. the conformance toy models) that accepts the split forwards of Hidden Transfer:
 * `skipLayers` and `embeddings` are recorded and ignored (logits come from the rows' token ids), and `hidden`
 * returns a fixed function of each row's logits (its first `hiddenSize` values), so drafts are deterministic
 * and arbitrary. Exactness of a speculative strategy must not depend on them.
 */
export function withLayerSplit(
  model: CausalLM,
  { hiddenSize = 4, numLayers = 2 }: { hiddenSize?: number; numLayers?: number } = {},
): CausalLM & { calls: SplitCall[] } {
  const vocabSize = model.info.vocabSize;
  const calls: SplitCall[] = [];
  const wrap = (sequence: Sequence): Sequence => ({
    get tokens() {
      return sequence.tokens;
    },
    async forward(input: ForwardInput, options) {
      calls.push({
        prefixLength: sequence.tokens.length,
        tokens: [...input.tokens],
        skipLayers: input.skipLayers ? [...input.skipLayers] : undefined,
        hidden: input.hidden,
        embeddings: input.embeddings?.slice(),
      });
      const { tokens, parents } = input;
      const { logits } = await sequence.forward({ tokens, parents }, options);
      if (!input.hidden) return { logits };
      const hidden = Float32Array.from(
        { length: tokens.length * hiddenSize },
        (_, i) => logits[Math.floor(i / hiddenSize) * vocabSize + ((i % hiddenSize) % vocabSize)],
      );
      return { logits, hidden };
    },
    commit: rows => sequence.commit(rows),
    truncate: length => sequence.truncate(length),
    fork: () => wrap(sequence.fork()),
    dispose: () => sequence.dispose(),
  });
  return {
    info: { ...model.info, hiddenSize, numLayers },
    capabilities: {
      ...model.capabilities,
      hiddenStates: true,
      layerSkip: true,
      inputEmbeddings: true,
    },
    createSequence: () => wrap(model.createSequence()),
    dispose: () => model.dispose(),
    calls,
  };
}
