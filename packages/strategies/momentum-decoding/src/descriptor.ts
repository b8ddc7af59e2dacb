import type { StrategyDescriptor } from '@decodekit/core';
import { momentumDecoding } from './momentum-decoding.js';

/** `--strategy momentum-decoding`: a processor that resists revisiting n-grams. */
export const momentumDecodingDescriptor: StrategyDescriptor = {
  id: 'momentum-decoding',
  packageName: '@decodekit/strategy-momentum-decoding',
  description: 'momentum decoding: resist revisiting n-grams (a processor)',
  returns: 'processor',
  lossless: false,
  options: {
    alpha: {
      type: 'number',
      default: 0.2,
      min: 0,
      help: 'Penalty per repeated token of a revisited n-gram.',
    },
  },
  create: options => ({
    processors: [momentumDecoding({ alpha: options.alpha as number | undefined })],
  }),
};
