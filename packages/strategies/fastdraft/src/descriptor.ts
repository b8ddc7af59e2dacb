import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { DRAFT_MODEL_OPTIONS, draftModelFromOptions } from '@decodekit/strategy-draft-model';

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
  options: DRAFT_MODEL_OPTIONS,
  create: (options, environment) => ({
    drafter: draftModelFromOptions(secondModelOf(environment, 'fastdraft'), options),
  }),
};
