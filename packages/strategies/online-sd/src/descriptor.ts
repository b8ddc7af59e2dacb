import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { onlineSpeculative as onlineSd } from './online-speculative.js';

/** `--strategy online-sd --draft-model REF`. */
export const onlineSdDescriptor: StrategyDescriptor = {
  id: 'online-sd',
  packageName: '@decodekit/strategy-online-sd',
  description:
    'online speculative decoding: draft-model speculation that records the rejected positions for online draft distillation (weight updates need a DraftUpdater in code, e.g. onlineDistiller of @decodekit/train; needs --draft-model; lossless)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    draftLength: { type: 'integer', default: 5, min: 1, max: 64, help: 'Draft tokens per step.' },
    temperature: { type: 'number', min: 0, help: 'Draft temperature (default: the decoder’s).' },
  },
  create: (options, environment) => ({
    strategy: onlineSd({
      model: secondModelOf(environment, 'online-sd'),
      draftLength: options.draftLength as number | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
