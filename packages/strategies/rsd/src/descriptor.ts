import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { rsd } from './rsd.js';

/** `--strategy rsd --draft-model REF`: Recursive Speculative Decoding. */
export const rsdDescriptor: StrategyDescriptor = {
  id: 'rsd',
  packageName: '@decodekit/strategy-rsd',
  description:
    'Recursive Speculative Decoding: draft trees without replacement (needs --draft-model)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    variant: {
      type: 'enum',
      values: ['constant', 'beam'],
      default: 'constant',
      help: 'RSD-C (constant branching) or RSD-S (stochastic beam search).',
    },
    branching: { type: 'integer', default: 2, min: 1, max: 64, help: 'RSD-C: children per node.' },
    depth: {
      type: 'integer',
      min: 1,
      max: 64,
      help: 'Draft depth (default 3 for RSD-C, 4 for RSD-S).',
    },
    beamWidth: { type: 'integer', default: 4, min: 1, max: 64, help: 'RSD-S: beam width W.' },
    budget: {
      type: 'integer',
      min: 1,
      max: 1024,
      help: 'Cut the tree to this many nodes (default: none).',
    },
    temperature: { type: 'number', min: 0, help: 'Draft temperature (default: the decoder’s).' },
  },
  create: (options, environment) => ({
    strategy: rsd({
      model: secondModelOf(environment, 'rsd'),
      variant: options.variant as 'constant' | 'beam' | undefined,
      branching: options.branching as number | undefined,
      depth: options.depth as number | undefined,
      beamWidth: options.beamWidth as number | undefined,
      budget: options.budget as number | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
