import {
  InvalidArgumentError,
  badWords,
  createDecoder,
  createFromDescriptor,
  frequencyPenalty,
  noRepeatNgram,
  presencePenalty,
  repetitionPenalty,
  type BuiltSetup,
  type CausalLM,
  type Decoder,
  type GenerateOptions,
  type LogitsProcessor,
  type Tokenizer,
} from '@decodekit/core';
import { fieldsOf, strategyById } from './catalog';
import { optionValue, type ProcessorChoice, type SideConfig } from './config';

/** What building a decoder may need besides the target model. */
export interface DecoderInputs {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  /** The draft model, for strategies whose descriptor needs a second model. */
  readonly draftModel?: CausalLM;
}

/**
 * The strategy of a side, built by core's `createFromDescriptor` from the catalogue descriptor and the form's
 * values (checked by `parseStrategyOptions`; drafters run through `speculative()` with budget/adaptive). Each
 * run gets a fresh one, so a run's numbers do not depend on earlier runs.
 */
function setupOf(side: SideConfig, inputs: DecoderInputs): Promise<BuiltSetup> {
  const entry = strategyById(side.strategy);
  if (!entry)
    throw new InvalidArgumentError({
      argument: 'strategy',
      message: `unknown strategy "${side.strategy}".`,
    });
  const options = Object.fromEntries(
    fieldsOf(entry).map(field => [field.key, optionValue(side, field)]),
  );
  return createFromDescriptor(entry.descriptor, options, {
    model: inputs.model,
    tokenizer: inputs.tokenizer,
    secondModel: inputs.draftModel,
  });
}

function processorOf(choice: ProcessorChoice, tokenizer: Tokenizer): LogitsProcessor<unknown> {
  const value = choice.value;
  switch (choice.id) {
    case 'repetition-penalty':
      return repetitionPenalty(Number(value));
    case 'presence-penalty':
      return presencePenalty(Number(value));
    case 'frequency-penalty':
      return frequencyPenalty(Number(value));
    case 'no-repeat-ngram':
      return noRepeatNgram(Number(value));
    case 'bad-words': {
      // The tokenizer adds its dummy-prefix space, so each word is banned as a word start (" ball").
      const sequences = String(value)
        .split('|')
        .map(word => word.trim())
        .filter(word => word.length > 0)
        .map(word => tokenizer.encode(word, { addSpecialTokens: false }))
        .filter(ids => ids.length > 0);
      return badWords(sequences);
    }
    default:
      throw new InvalidArgumentError({
        argument: 'processors',
        message: `unknown processor "${choice.id}".`,
      });
  }
}

/** A decoder for one side of the composer: its processors, then the strategy's own (and its wrapped model). */
export async function buildDecoder(
  side: SideConfig,
  inputs: DecoderInputs,
): Promise<{ decoder: Decoder }> {
  const setup = await setupOf(side, inputs);
  let decoder = createDecoder({ model: setup.model ?? inputs.model, tokenizer: inputs.tokenizer });
  for (const choice of side.processors)
    decoder = decoder.use(processorOf(choice, inputs.tokenizer));
  for (const processor of setup.processors ?? []) decoder = decoder.use(processor);
  return { decoder: setup.strategy ? decoder.use(setup.strategy) : decoder };
}

/** GenerateOptions of a side: sampling parameters, with the "off" values left out. */
export function generateOptionsOf(
  side: SideConfig,
  maxTokens: number,
  signal: AbortSignal,
): GenerateOptions {
  const { temperature = 0, topK = 0, topP = 1, minP = 0, typicalP = 1, seed = 0 } = side.sampling;
  return {
    maxTokens,
    temperature,
    seed,
    signal,
    ...(topK > 0 ? { topK } : {}),
    ...(topP < 1 ? { topP } : {}),
    ...(minP > 0 ? { minP } : {}),
    ...(typicalP < 1 ? { typicalP } : {}),
  };
}
