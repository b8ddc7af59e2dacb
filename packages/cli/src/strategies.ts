import { autoregressive, InvalidArgumentError, speculative, type LoadedModel, type Strategy } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { draftModel } from '@decodekit/strategy-draft-model';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { backendByName } from './load.js';
import { parseStrategySpec } from './strategy-spec.js';

/** What a strategy factory may need beyond its options. */
export interface StrategyEnvironment {
  model: LoadedModel;
  /** Reference of the draft model (`--draft-model`). */
  draftModel?: string;
  backend: string;
  /** Models this run loaded for strategies; the caller disposes them. */
  loaded?: LoadedModel[];
}

type Options = Record<string, string | number | boolean>;

/** A strategy the CLI knows, with the option keys it accepts. */
interface Entry {
  description: string;
  keys: readonly string[];
  create(options: Options, environment: StrategyEnvironment): Promise<Strategy>;
}

function budgetOf(options: Options): number | undefined {
  return options.budget === undefined ? undefined : Number(options.budget);
}

const registry: Record<string, Entry> = {
  ar: { description: 'autoregressive decoding (the baseline)', keys: [], create: async () => autoregressive() },
  'prompt-lookup': {
    description: 'Prompt Lookup Decoding: copy n-gram continuations from the context',
    keys: ['budget', 'maxNgramSize', 'minNgramSize', 'numSpeculativeTokens', 'prefer', 'branches'],
    create: async options =>
      speculative({
        drafter: promptLookup({
          maxNgramSize: options.maxNgramSize as number | undefined,
          minNgramSize: options.minNgramSize as number | undefined,
          numSpeculativeTokens: options.numSpeculativeTokens as number | undefined,
          prefer: options.prefer as 'latest' | 'earliest' | undefined,
          branches: options.branches as number | undefined,
        }),
        budget: budgetOf(options),
      }),
  },
  'token-recycling': {
    description: 'Token Recycling: a draft tree from the target’s own recent top-k candidates',
    keys: ['budget', 'topK'],
    create: async options =>
      speculative({ drafter: tokenRecycling({ topK: options.topK as number | undefined }), budget: budgetOf(options) }),
  },
  'draft-model': {
    description: 'a second, smaller model drafts (needs --draft-model)',
    keys: ['budget', 'numAssistantTokens', 'schedule', 'temperature'],
    async create(options, environment) {
      if (!environment.draftModel) {
        throw new InvalidArgumentError({ argument: '--draft-model', message: 'the draft-model strategy needs --draft-model REF (e.g. ../shared/models/llama2xs).' });
      }
      const draft = await loadModel(environment.draftModel, { backend: backendByName(environment.backend) });
      environment.loaded?.push(draft);
      return speculative({
        drafter: draftModel({
          model: draft,
          numAssistantTokens: options.numAssistantTokens as number | undefined,
          schedule: options.schedule as 'heuristic' | 'constant' | undefined,
          temperature: options.temperature as number | undefined,
        }),
        budget: budgetOf(options),
      });
    },
  },
};
registry.autoregressive = registry.ar;

/** Names `--strategy` accepts. */
export function strategyNames(): string[] {
  return Object.keys(registry);
}

/** Whether the named strategy is lossless (token-identical to AR at T = 0). */
export function describeStrategies(): { name: string; description: string; keys: readonly string[] }[] {
  return Object.entries(registry).map(([name, entry]) => ({ name, description: entry.description, keys: entry.keys }));
}

/** Builds a strategy from a `NAME[:key=value,...]` spec. */
export async function buildStrategy(spec: string, environment: StrategyEnvironment): Promise<Strategy> {
  const { name, options } = parseStrategySpec(spec);
  const entry = registry[name];
  if (!entry) {
    throw new InvalidArgumentError({ argument: '--strategy', message: `unknown strategy "${name}"; known: ${strategyNames().join(', ')}.` });
  }
  for (const key of Object.keys(options)) {
    if (!entry.keys.includes(key)) {
      throw new InvalidArgumentError({
        argument: '--strategy',
        message: `"${name}" has no option "${key}"; it accepts: ${entry.keys.join(', ') || '(none)'}.`,
      });
    }
  }
  return entry.create(options, environment);
}
