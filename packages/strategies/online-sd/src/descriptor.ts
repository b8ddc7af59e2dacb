import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { onlineSpeculative as onlineSd } from './online-speculative.js';

/** `--strategy online-sd --draft-model REF`. */
export const onlineSdDescriptor: StrategyDescriptor = {
  id: 'online-sd',
  packageName: '@decodekit/strategy-online-sd',
  description:
    'online speculative decoding: the draft’s output is corrected online from verification results (needs --draft-model; lossless)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    learningRate: {
      type: 'number',
      default: 0.5,
      min: 0,
      help: 'Step size of the online correction.',
    },
    correction: {
      type: 'enum',
      values: ['bias', 'bigram'],
      default: 'bigram',
      help: 'What the correction learns.',
    },
    draftLength: { type: 'integer', default: 4, min: 1, max: 64, help: 'Draft tokens per step.' },
    temperature: { type: 'number', min: 0, help: 'Draft temperature (default: the decoder’s).' },
  },
  create: (options, environment) => ({
    strategy: onlineSd({
      model: secondModelOf(environment, 'online-sd'),
      learningRate: options.learningRate as number | undefined,
      correction: options.correction as 'bias' | 'bigram' | undefined,
      draftLength: options.draftLength as number | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
