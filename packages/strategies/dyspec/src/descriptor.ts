import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { dyspec } from './dyspec.js';

/** `--strategy dyspec --draft-model REF`: DySpec's dynamic draft trees. */
export const dyspecDescriptor: StrategyDescriptor = {
  id: 'dyspec',
  packageName: '@decodekit/strategy-dyspec',
  description: 'DySpec: dynamic draft trees grown by draft probability (needs --draft-model)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    variant: {
      type: 'enum',
      values: ['greedy', 'threshold'],
      default: 'greedy',
      help: 'Heap expansion (Alg. 1) or layer-wise threshold (Alg. 2).',
    },
    budget: { type: 'integer', default: 32, min: 1, max: 1024, help: 'Draft tree nodes.' },
    threshold: {
      type: 'number',
      min: 0,
      max: 1,
      help: 'Alg. 2’s expansion threshold (default 1 / budget).',
    },
    maxDepth: { type: 'integer', default: 16, min: 1, max: 256, help: 'Deepest draft level.' },
    temperature: { type: 'number', min: 0, help: 'Draft temperature (default: the decoder’s).' },
    adaptive: {
      type: 'boolean',
      default: false,
      help: 'Size the tree for the hardware (the engine’s cost-curve draft sizing) instead of exactly budget nodes.',
    },
  },
  create: (options, environment) => ({
    strategy: dyspec({
      model: secondModelOf(environment, 'dyspec'),
      variant: options.variant as 'greedy' | 'threshold' | undefined,
      budget: options.budget as number | undefined,
      threshold: options.threshold as number | undefined,
      maxDepth: options.maxDepth as number | undefined,
      temperature: options.temperature as number | undefined,
      adaptive: options.adaptive as boolean | undefined,
    }),
  }),
};
