import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { draftModel } from '@decodekit/strategy-draft-model';

/** The committed FastDraft draft of stories260K: a llama2.c folder the model resolver loads. */
export const FASTDRAFT_STORIES260K = new URL('../weights/stories260K', import.meta.url).href;

/**
 * `--strategy fastdraft`: draft-model speculative decoding with the committed FastDraft draft of stories260K
 * (126,384 parameters, pretrained and aligned on stories260K's own generations). `--draft-model` does not
 * replace it; for another draft use `draft-model`.
 */
export const fastdraftDescriptor: StrategyDescriptor = {
  id: 'fastdraft',
  packageName: '@decodekit/strategy-fastdraft',
  description:
    'FastDraft: draft-model decoding with the committed draft pretrained and aligned on stories260K’s own generations (lossless)',
  returns: 'drafter',
  lossless: true,
  secondModel: {
    required: true,
    role: 'FastDraft draft of the target (committed for stories260K)',
    fallback: FASTDRAFT_STORIES260K,
    bundled: true,
  },
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
      model: secondModelOf(environment, 'fastdraft'),
      numAssistantTokens: options.numAssistantTokens as number | undefined,
      schedule: options.schedule as 'heuristic' | 'constant' | undefined,
      temperature: options.temperature as number | undefined,
    }),
  }),
};
