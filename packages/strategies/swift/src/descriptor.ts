import type { StrategyDescriptor } from '@decodekit/core';
import { swift } from './swift.js';

/** `--strategy swift`: SWIFT self-speculation. */
export const swiftDescriptor: StrategyDescriptor = {
  id: 'swift',
  packageName: '@decodekit/strategy-swift',
  description: 'SWIFT: self-speculation by skipping layers found on the fly (lossless)',
  returns: 'strategy',
  lossless: true,
  options: {
    skipRatio: {
      type: 'number',
      default: 0.45,
      min: 0,
      max: 1,
      help: 'Share of layers skipped when drafting.',
    },
    maxDraftSteps: {
      type: 'integer',
      default: 25,
      min: 1,
      max: 256,
      help: 'Most draft tokens per step.',
    },
  },
  create: options => ({
    strategy: swift({
      skipRatio: options.skipRatio as number | undefined,
      maxDraftSteps: options.maxDraftSteps as number | undefined,
    }),
  }),
};
