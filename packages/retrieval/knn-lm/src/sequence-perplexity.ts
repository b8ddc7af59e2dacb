import { InvalidArgumentError, type CausalLM } from '@decodekit/core';

/**
 * Perplexity of token sequences under a model: exp(Σ NLL / Σ predicted tokens), one chain forward per
 * sequence (cut to the context). The first token of each sequence is context only.
 */
export async function sequencePerplexity(
  model: CausalLM,
  sequences: readonly (readonly number[])[],
  { signal }: { signal?: AbortSignal } = {},
): Promise<{ perplexity: number; tokens: number }> {
  let nll = 0;
  let count = 0;
  for (const full of sequences) {
    const sequence = full.slice(0, model.info.contextLength);
    if (sequence.length < 2) continue;
    const state = model.createSequence();
    try {
      const { logits } = await state.forward(
        { tokens: Int32Array.from(sequence.slice(0, -1)) },
        { signal },
      );
      const vocab = logits.length / (sequence.length - 1);
      for (let row = 0; row + 1 < sequence.length; row++) {
        const offset = row * vocab;
        let max = -Infinity;
        for (let token = 0; token < vocab; token++) max = Math.max(max, logits[offset + token]);
        let sum = 0;
        for (let token = 0; token < vocab; token++) sum += Math.exp(logits[offset + token] - max);
        nll -= logits[offset + sequence[row + 1]] - max - Math.log(sum);
        count++;
      }
    } finally {
      state.dispose();
    }
  }
  if (count === 0)
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: 'need at least one sequence of two or more tokens',
    });
  return { perplexity: Math.exp(nll / count), tokens: count };
}
