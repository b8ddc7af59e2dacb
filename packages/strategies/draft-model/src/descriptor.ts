import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { draftModel } from './draft-model.js';

/** `--strategy draft-model --draft-model REF`: classic draft/target speculative decoding. */
export const draftModelDescriptor: StrategyDescriptor = {
  id: 'draft-model',
  packageName: '@decodekit/strategy-draft-model',
  description: 'a second, smaller model drafts (needs --draft-model; lossless)',
  returns: 'drafter',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: {
    numAssistantTokens: {
      type: 'integer',
      default: 5,
      min: 1,
      max: 128,
      help: 'Draft tokens per step (adapted by the schedule).',
    },
    schedule: {
      type: 'enum',
      values: ['heuristic', 'constant'],
      default: 'heuristic',
      help: 'Hugging Face’s draft-length schedule.',
    },
    temperature: {
      type: 'number',
      default: 0,
      min: 0,
      help: 'Draft sampling temperature (0 = greedy drafts).',
    },
  },
  create: (options, environment) => ({
    drafter: draftModel({
      model: secondModelOf(environment, 'draft-model'),
      numAssistantTokens: options.numAssistantTokens as number | undefined,
      schedule: options.schedule as 'heuristic' | 'constant' | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
