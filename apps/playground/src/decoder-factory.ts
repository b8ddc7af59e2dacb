import {
  InvalidArgumentError,
  autoregressive,
  badWords,
  createDecoder,
  frequencyPenalty,
  noRepeatNgram,
  presencePenalty,
  repetitionPenalty,
  speculative,
  type CausalLM,
  type Decoder,
  type Drafter,
  type GenerateOptions,
  type LogitsProcessor,
  type Strategy,
  type Tokenizer,
} from '@decodekit/core';
import { copyspec } from '@decodekit/strategy-copyspec';
import { draftModel } from '@decodekit/strategy-draft-model';
import { lookaheadDecoding } from '@decodekit/strategy-lookahead';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { spectr } from '@decodekit/strategy-spectr';
import { swift } from '@decodekit/strategy-swift';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { fieldsOf, strategyById } from './catalog';
import { optionValue, type ProcessorChoice, type SideConfig } from './config';

/** What building a decoder may need besides the target model. */
export interface DecoderInputs {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  /** The draft model, for the draft-model strategy. */
  readonly draftModel?: CausalLM;
}

type Options = Readonly<Record<string, number | string | boolean>>;

/** Drafters by strategy id: each run gets a fresh one, so a run's numbers do not depend on earlier runs. */
const drafters: Record<string, (options: Options, inputs: DecoderInputs) => Drafter> = {
  'token-recycling': options => tokenRecycling({ topK: options.topK as number, persist: false }),
  'prompt-lookup': options =>
    promptLookup({
      maxNgramSize: options.maxNgramSize as number,
      minNgramSize: Math.min(options.minNgramSize as number, options.maxNgramSize as number),
      numSpeculativeTokens: options.numSpeculativeTokens as number,
      prefer: options.prefer as 'latest' | 'earliest',
      branches: options.branches as number,
    }),
  'draft-model': (options, inputs) => {
    return draftModel({
      model: draftModelOf(inputs),
      numAssistantTokens: options.numAssistantTokens as number,
      schedule: options.schedule as 'heuristic' | 'heuristic-transient' | 'constant',
      temperature: options.temperature as number,
    });
  },
  copyspec: options =>
    copyspec({
      gamma: options.gamma as number,
      numberCopy: options.numberCopy as number,
      prefer: options.prefer as 'earliest' | 'latest',
      fallback: options.fallback === 'token-recycling' ? tokenRecycling({ persist: false }) : undefined,
    }),
};

function draftModelOf(inputs: DecoderInputs): CausalLM {
  if (!inputs.draftModel) {
    throw new InvalidArgumentError({ argument: 'draftModel', message: 'the draft model is not loaded.' });
  }
  return inputs.draftModel;
}

/** Packages whose own factory returns the Strategy (each on top of core's speculative()). */
const strategyFactories: Record<string, (options: Options, inputs: DecoderInputs) => Strategy> = {
  lookahead: options =>
    lookaheadDecoding({
      windowSize: options.windowSize as number,
      ngramSize: options.ngramSize as number,
      guessSetSize: options.guessSetSize as number,
      poolFromPrompt: options.poolFromPrompt as boolean,
    }),
  swift: options =>
    swift({
      skipRatio: options.skipRatio as number,
      maxDraftSteps: options.maxDraftSteps as number,
      stopThreshold: options.stopThreshold as number,
      budget: options.budget as number,
    }),
  spectr: (options, inputs) =>
    spectr({ model: draftModelOf(inputs), k: options.k as number, draftLength: options.draftLength as number }),
};

function strategyOf(side: SideConfig, inputs: DecoderInputs): Strategy {
  const entry = strategyById(side.strategy);
  if (!entry) throw new InvalidArgumentError({ argument: 'strategy', message: `unknown strategy "${side.strategy}".` });
  const options: Options = Object.fromEntries(fieldsOf(entry).map(field => [field.key, optionValue(side, field)]));
  if (entry.kind === 'baseline') return autoregressive();
  if (entry.kind === 'strategy') {
    const makeStrategy = strategyFactories[entry.id];
    if (!makeStrategy) throw new InvalidArgumentError({ argument: 'strategy', message: `no factory for "${entry.id}".` });
    return makeStrategy(options, inputs);
  }
  const makeDrafter = drafters[entry.id];
  if (!makeDrafter) throw new InvalidArgumentError({ argument: 'strategy', message: `no drafter for "${entry.id}".` });
  return speculative({
    drafter: makeDrafter(options, inputs),
    budget: options.budget as number,
    adaptive: options.adaptive as boolean,
  });
}

function processorOf(choice: ProcessorChoice, tokenizer: Tokenizer): LogitsProcessor<any> {
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
      throw new InvalidArgumentError({ argument: 'processors', message: `unknown processor "${choice.id}".` });
  }
}

/** A decoder and its generate options for one side of the composer. */
export function buildDecoder(side: SideConfig, inputs: DecoderInputs): { decoder: Decoder } {
  let decoder = createDecoder({ model: inputs.model, tokenizer: inputs.tokenizer });
  for (const choice of side.processors) decoder = decoder.use(processorOf(choice, inputs.tokenizer));
  return { decoder: decoder.use(strategyOf(side, inputs)) };
}

/** GenerateOptions of a side: sampling parameters, with the "off" values left out. */
export function generateOptionsOf(side: SideConfig, maxTokens: number, signal: AbortSignal): GenerateOptions {
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
