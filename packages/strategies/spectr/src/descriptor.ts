import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { spectr } from './spectr.js';

/** `--strategy spectr --draft-model REF`: SpecTr's k-sequential optimal-transport verification. */
export const spectrDescriptor: StrategyDescriptor = {
  id: 'spectr',
  packageName: '@decodekit/strategy-spectr',
  description:
    'SpecTr: k i.i.d. draft sequences, K-SEQ optimal-transport verification (needs --draft-model)',
  returns: 'strategy',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    k: {
      type: 'integer',
      default: 4,
      min: 1,
      max: 64,
      help: 'I.i.d. draft sequences (SpecTr’s K).',
    },
    draftLength: {
      type: 'integer',
      default: 4,
      min: 1,
      max: 64,
      help: 'Tokens per draft sequence.',
    },
    temperature: { type: 'number', min: 0, help: 'Draft temperature (default: the decoder’s).' },
  },
  create: (options, environment) => ({
    strategy: spectr({
      model: secondModelOf(environment, 'spectr'),
      k: options.k as number | undefined,
      draftLength: options.draftLength as number | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
