import type { StrategyDescriptor } from '@decodekit/core';
import { promptLookup } from './prompt-lookup.js';

/** `--strategy prompt-lookup`: Prompt Lookup Decoding as a drafter for core's `speculative()`. */
export const promptLookupDescriptor: StrategyDescriptor = {
  id: 'prompt-lookup',
  packageName: '@decodekit/strategy-prompt-lookup',
  description: 'Prompt Lookup Decoding: copy n-gram continuations from the context (lossless)',
  returns: 'drafter',
  lossless: true,
  options: {
    maxNgramSize: {
      type: 'integer',
      default: 3,
      min: 1,
      max: 16,
      help: 'Longest suffix n-gram looked up in the context.',
    },
    minNgramSize: {
      type: 'integer',
      default: 1,
      min: 1,
      max: 16,
      help: 'Shortest suffix n-gram tried before giving up.',
    },
    numSpeculativeTokens: {
      type: 'integer',
      default: 10,
      min: 1,
      max: 256,
      help: 'Tokens copied after a match.',
    },
    prefer: {
      type: 'enum',
      values: ['latest', 'earliest'],
      default: 'latest',
      help: 'Which match to copy from.',
    },
    branches: {
      type: 'integer',
      default: 1,
      min: 1,
      max: 16,
      help: 'Distinct matches drafted as tree branches.',
    },
  },
  create: options => ({
    drafter: promptLookup({
      maxNgramSize: options.maxNgramSize as number | undefined,
      minNgramSize: options.minNgramSize as number | undefined,
      numSpeculativeTokens: options.numSpeculativeTokens as number | undefined,
      prefer: options.prefer as 'latest' | 'earliest' | undefined,
      branches: options.branches as number | undefined,
    }),
  }),
};
