import { wrapModel } from '@decodekit/core';
import type { CausalLM } from '@decodekit/core';
import type { AcceptanceHead } from '../index.js';

/** A toy draft whose "hidden state" is its logits row (hiddenSize = vocabSize). */
export function withLogitHidden(model: CausalLM): CausalLM {
  return wrapModel({
    model,
    middleware: [
      {
        name: 'logit-hidden',
        transformCapabilities: c => ({ ...c, hiddenStates: true }),
        transformInfo: info => ({ ...info, hiddenSize: info.vocabSize }),
        async wrapForward({ input, options, doForward }) {
          const out = await doForward({ ...input, hidden: false }, options);
          return input.hidden ? { ...out, hidden: out.logits.slice() } : out;
        },
      },
    ],
  });
}

/** A trivial head for the toy: √(the draft's top softmax probability) (its hidden state is its logits). */
export const confidenceHead: AcceptanceHead = {
  name: 'toy-confidence',
  predict({ hidden }) {
    let max = -Infinity;
    for (const v of hidden) max = Math.max(max, v);
    let sum = 0;
    for (const v of hidden) sum += Math.exp(v - max);
    return Math.sqrt(1 / sum);
  },
};
