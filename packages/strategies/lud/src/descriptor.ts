import type { StrategyDescriptor } from '@decodekit/core';
import { lud } from './lud.js';

/** `--strategy lud`: lexical-unit parallel decoding. */
export const ludDescriptor: StrategyDescriptor = {
  id: 'lud',
  packageName: '@decodekit/strategy-lud',
  description:
    'lexical-unit multi-token steps (lossless only with threshold > 1; needs a LUD-tuned model, e.g. `decodekit train lud`)',
  returns: 'strategy',
  lossless: false,
  options: {
    threshold: {
      type: 'number',
      default: 0.9,
      min: 0,
      help: 'Confidence a placeholder token needs to be emitted (> 1: plain decoding).',
    },
    placeholders: {
      type: 'integer',
      default: 3,
      min: 1,
      max: 32,
      help: 'Placeholder tokens appended per step.',
    },
    placeholderTokenId: {
      type: 'integer',
      default: 0,
      min: 0,
      help: 'Token id fed at placeholders (the one the model was LUD-tuned with; decodekit train lud uses 0).',
    },
  },
  create: options => ({
    strategy: lud({
      threshold: options.threshold as number | undefined,
      placeholders: options.placeholders as number | undefined,
      placeholderTokenId: options.placeholderTokenId as number | undefined,
    }),
  }),
};
