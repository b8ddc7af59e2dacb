import type { Strategy } from '../strategy.js';

/** Plain autoregressive decoding: one target forward per token. The baseline every strategy is checked against. */
export function autoregressive(): Strategy {
  return {
    kind: 'strategy',
    name: 'autoregressive',
    lossless: true,
    async run(context) {
      const { sequence, processor, sampler, random } = context;
      const input = new Int32Array(1);
      for (;;) {
        input[0] = context.tokens[context.tokens.length - 1];
        const { logits } = await context.forward({ tokens: input });
        sequence.commit([0]);
        const row = logits.slice(0, context.model.info.vocabSize);
        processor.process(row, context.processorState);
        if (!context.emit(sampler.sample(row, random), 'target')) return;
      }
    },
  };
}
