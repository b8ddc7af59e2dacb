import {
  buildOptionProcessors,
  chain,
  resolveGenerateOptions,
  softmax,
  type CausalLM,
  type GenerateOptions,
  type LogitsProcessor,
} from '@decodekit/core';

/**
 * The exact distribution of the next `steps` tokens after `prompt` under the processed target model (for an
 * encoder-decoder model: of its first `steps` decoder tokens with `prompt` as the source)
 * (processors, then the options' penalties and sampling warpers, exactly as the decoder builds them).
 * Returns probabilities indexed by the outcome's base-vocab number (token_1 * V^(steps-1) + ...).
 */
export async function exactJoint({
  model,
  prompt,
  steps,
  options,
  processors = [],
}: {
  model: CausalLM;
  prompt: readonly number[];
  steps: number;
  options: GenerateOptions;
  processors?: readonly LogitsProcessor<unknown>[];
}): Promise<Float64Array> {
  const vocab = model.info.vocabSize;
  const processor: LogitsProcessor<unknown> = chain(
    ...processors,
    ...buildOptionProcessors(resolveGenerateOptions(options)),
  );
  const joint = new Float64Array(vocab ** steps);
  async function visit(
    context: number[],
    state: unknown,
    probability: number,
    index: number,
    depth: number,
  ): Promise<void> {
    if (depth === steps) {
      joint[index] += probability;
      return;
    }
    const sequence = model.createSequence(encoding === undefined ? undefined : { encoding });
    const { logits } = await sequence.forward({ tokens: Int32Array.from(context) });
    sequence.dispose();
    const row = logits.slice((context.length - 1) * vocab, context.length * vocab);
    processor.process(row, state);
    const probabilities = softmax(row);
    for (let token = 0; token < vocab; token++) {
      if (probabilities[token] === 0) continue;
      await visit(
        [...context, token],
        processor.advance(state, token),
        probability * probabilities[token],
        index * vocab + token,
        depth + 1,
      );
    }
  }
  // An encoder-decoder model encodes the prompt once and decodes from its start token, as the decoder does.
  const seq2seq = model.encoderDecoder;
  const encoding =
    seq2seq === undefined ? undefined : await seq2seq.encode(Int32Array.from(prompt));
  const prefix = seq2seq === undefined ? prompt : [seq2seq.decoderStartTokenId];
  // The same budget the decoder hands its processors for a `steps`-token generation.
  const budget = Math.min(
    steps,
    options.maxTokens ?? steps,
    model.info.contextLength - prefix.length,
  );
  await visit([...prefix], processor.init(prefix, { maxTokens: budget }), 1, 0, 0);
  return joint;
}
