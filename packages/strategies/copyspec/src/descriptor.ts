import type { StrategyDescriptor } from '@decodekit/core';
import { copyspec } from './copyspec.js';

/** `--strategy copyspec`: CopySpec as a drafter for core's `speculative()`. */
export const copyspecDescriptor: StrategyDescriptor = {
  id: 'copyspec',
  packageName: '@decodekit/strategy-copyspec',
  description: 'CopySpec: copy long spans of the history found by a rolling hash (lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    gamma: {
      type: 'integer',
      default: 3,
      min: 1,
      max: 64,
      help: 'Tokens of the suffix that must match (the paper’s γ).',
    },
    numberCopy: {
      type: 'integer',
      default: 10,
      min: 1,
      max: 256,
      help: 'Tokens copied after a match.',
    },
    prefer: {
      type: 'enum',
      values: ['earliest', 'latest'],
      default: 'earliest',
      help: 'Which match to copy from.',
    },
  },
  create: options => ({
    drafter: copyspec({
      gamma: options.gamma as number | undefined,
      numberCopy: options.numberCopy as number | undefined,
      prefer: options.prefer as 'earliest' | 'latest' | undefined,
    }),
    budget: 16,
  }),
};
