import { secondModelOf, type StrategyDescriptor } from '@decodekit/core';
import { contrastiveDecoding } from './contrastive-decoding.js';

/** `--strategy contrastive-decoding [--draft-model AMATEUR]`: expert minus amateur, as a wrapped model. */
export const contrastiveDecodingDescriptor: StrategyDescriptor = {
  id: 'contrastive-decoding',
  packageName: '@decodekit/strategy-contrastive-decoding',
  description:
    'contrastive decoding: expert minus amateur (amateur = --draft-model, default llama2xs)',
  returns: 'middleware',
  lossless: false,
  secondModel: {
    required: true,
    role: 'amateur model with the target’s tokenizer',
    fallback: 'llama2xs',
  },
  options: {
    alpha: {
      type: 'number',
      default: 0.1,
      min: 0,
      max: 1,
      help: 'Plausibility cut: keep tokens with p ≥ α·max p.',
    },
    beta: {
      type: 'number',
      default: 0.5,
      min: 0,
      help: 'Contrast strength β in (1 + β)·z_expert − β·z_amateur.',
    },
  },
  create: (options, environment) => ({
    model: contrastiveDecoding({
      expert: environment.model,
      amateur: secondModelOf(environment, 'contrastive-decoding'),
      alpha: options.alpha as number | undefined,
      beta: options.beta as number | undefined,
    }),
  }),
};
