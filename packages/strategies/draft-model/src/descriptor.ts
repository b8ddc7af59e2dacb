import {
  secondModelOf,
  type CausalLM,
  type Drafter,
  type OptionDescriptor,
  type OptionValues,
  type StrategyDescriptor,
} from '@decodekit/core';
import { draftModel } from './draft-model.js';

/** The options of draft-model decoding (also those of the strategies that run it with their own draft). */
export const DRAFT_MODEL_OPTIONS: Readonly<Record<string, OptionDescriptor>> = {
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
};

/** A draft-model drafter over `model` from checked {@link DRAFT_MODEL_OPTIONS} values. */
export function draftModelFromOptions(model: CausalLM, options: OptionValues): Drafter {
  return draftModel({
    model,
    numAssistantTokens: options.numAssistantTokens as number | undefined,
    schedule: options.schedule as 'heuristic' | 'constant' | undefined,
    temperature: options.temperature as number | undefined,
  });
}

/** `--strategy draft-model --draft-model REF`: classic draft/target speculative decoding. */
export const draftModelDescriptor: StrategyDescriptor = {
  id: 'draft-model',
  packageName: '@decodekit/strategy-draft-model',
  description: 'a second, smaller model drafts (needs --draft-model; lossless)',
  returns: 'drafter',
  lossless: true,
  secondModel: { required: true, role: 'draft model with the target’s tokenizer' },
  options: DRAFT_MODEL_OPTIONS,
  create: (options, environment) => ({
    drafter: draftModelFromOptions(secondModelOf(environment, 'draft-model'), options),
  }),
};
