import type { StrategyDescriptor } from '@decodekit/core';
import { tokenRecycling } from './token-recycling.js';

/** `--strategy token-recycling`: Token Recycling as a drafter for core's `speculative()`. */
export const tokenRecyclingDescriptor: StrategyDescriptor = {
  id: 'token-recycling',
  packageName: '@decodekit/strategy-token-recycling',
  description:
    'Token Recycling: a draft tree from the target’s own recent top-k candidates (lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    topK: {
      type: 'integer',
      default: 8,
      min: 1,
      max: 64,
      help: 'Candidates kept per token (the paper’s k).',
    },
  },
  // The paper's 80-node template is cut by adaptive sizing; 32 nodes is where this CPU's cost curve flattens.
  create: options => ({
    drafter: tokenRecycling({ topK: options.topK as number | undefined }),
    budget: 32,
  }),
};
