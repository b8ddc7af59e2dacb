import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { s2d } from './s2d.js';

/** `--strategy s2d --draft-model REF`. */
export const s2dDescriptor: StrategyDescriptor = {
  id: 's2d',
  packageName: '@decodekit/strategy-s2d',
  description:
    'S2D: one shared draft serving several nested targets (here the full target; needs --draft-model; lossless)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    draftLength: { type: 'integer', default: 4, min: 1, max: 64, help: 'Draft tokens per step.' },
    temperature: { type: 'number', min: 0, help: 'Draft temperature (default: the decoder’s).' },
  },
  create: (options, environment) => ({
    strategy: s2d({
      draft: secondModelOf(environment, 's2d'),
      draftLength: options.draftLength as number | undefined,
      temperature: options.temperature as number | undefined,
    }).strategy(),
  }),
};
