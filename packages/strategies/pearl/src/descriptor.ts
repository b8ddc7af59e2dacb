import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { pearl } from './pearl.js';

/** `--strategy pearl --draft-model REF`: PEARL's parallel pre-/post-verify. */
export const pearlDescriptor: StrategyDescriptor = {
  id: 'pearl',
  packageName: '@decodekit/strategy-pearl',
  description:
    'PEARL: pre-/post-verify with draft and target interleaved (needs --draft-model; lossless)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    gamma: {
      type: 'integer',
      default: 4,
      min: 1,
      max: 64,
      help: 'Draft tokens per round (the paper’s γ).',
    },
    temperature: {
      type: 'number',
      default: 0,
      min: 0,
      help: 'Draft temperature (0 = greedy drafts).',
    },
  },
  create: (options, environment) => ({
    strategy: pearl({
      model: secondModelOf(environment, 'pearl'),
      gamma: options.gamma as number | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
