import type { StrategyDescriptor } from '@decodekit/core';
import { lookaheadDecoding } from './lookahead-decoding.js';

/** `--strategy lookahead`: Lookahead decoding (its own strategy over core's speculative engine). */
export const lookaheadDescriptor: StrategyDescriptor = {
  id: 'lookahead',
  packageName: '@decodekit/strategy-lookahead',
  description:
    'Lookahead decoding: Jacobi window + n-gram pool + verification in one tree forward (lossless)',
  returns: 'strategy',
  lossless: true,
  options: {
    windowSize: { type: 'integer', default: 7, min: 1, max: 64, help: 'Jacobi window W.' },
    ngramSize: { type: 'integer', default: 5, min: 3, max: 16, help: 'N-gram size N.' },
    guessSetSize: {
      type: 'integer',
      default: 7,
      min: 0,
      max: 64,
      help: 'Verified guesses G per step.',
    },
  },
  create: options => ({
    strategy: lookaheadDecoding({
      windowSize: options.windowSize as number | undefined,
      ngramSize: options.ngramSize as number | undefined,
      guessSetSize: options.guessSetSize as number | undefined,
    }),
  }),
};
