/**
 * What the composer offers: strategies with their option fields, generated from `@decodekit/catalog`'s
 * descriptors (types → field kinds, defaults, ranges, help), and logits processors. The worker builds the
 * chosen strategy with core's `createFromDescriptor` (decoder-factory.ts).
 */
import { STRATEGY_DESCRIPTORS } from '@decodekit/catalog';
import {
  SPECULATIVE_OPTIONS,
  type OptionDescriptor,
  type StrategyDescriptor,
} from '@decodekit/core';

/** One option field of a strategy or processor. */
export type OptionField =
  | {
      readonly key: string;
      readonly label: string;
      readonly kind: 'int' | 'number';
      readonly default: number;
      readonly min: number;
      readonly max: number;
      readonly step?: number;
      readonly help: string;
    }
  | {
      readonly key: string;
      readonly label: string;
      readonly kind: 'select';
      readonly default: string;
      readonly choices: readonly string[];
      readonly help: string;
    }
  | {
      readonly key: string;
      readonly label: string;
      readonly kind: 'bool';
      readonly default: boolean;
      readonly help: string;
    }
  | {
      readonly key: string;
      readonly label: string;
      readonly kind: 'text';
      readonly default: string;
      readonly help: string;
    };

export type OptionValue = number | string | boolean;

/** A strategy the composer can pick. */
export interface StrategyEntry {
  /** The descriptor's id (`ar` for the baseline). */
  readonly id: string;
  /** Other names the URL may use (`autoregressive`, `greedy`). */
  readonly aliases: readonly string[];
  readonly label: string;
  /** The npm package it comes from. */
  readonly packageName: string;
  readonly summary: string;
  /**
   * 'baseline': autoregressive. 'drafter': a drafter run through core's `speculative()` (the budget and
   * adaptive fields apply). 'strategy': the package's own Strategy (built on `speculative()` too, with its
   * own budget rules).
   */
  readonly kind: 'baseline' | 'drafter' | 'strategy';
  /** Needs the draft model (llama2xs) loaded too. */
  readonly needsDraftModel?: boolean;
  /** The strategy's own option fields (speculative ones come from {@link fieldsOf}). */
  readonly options: readonly OptionField[];
  /** What the worker builds it from. */
  readonly descriptor: StrategyDescriptor;
}

/**
 * The catalogue strategies the playground offers: lossless ones that run in a browser on stories260K (with
 * llama2xs as the draft model) and need no files; the e2e test checks each reproduces greedy text on wasm.
 */
export const playgroundStrategyIds: readonly string[] = [
  'ar',
  'token-recycling',
  'prompt-lookup',
  'draft-model',
  'copyspec',
  'lookahead',
  'swift',
  'spectr',
];

/**
 * Form values where a descriptor leaves the default to the factory (a form field needs one), or where the
 * playground deliberately differs.
 */
const formDefaults: Readonly<Record<string, number | boolean>> = {
  // `budget` has no default in core: each drafter proposes its own; the composer starts every drafter at 16.
  budget: 16,
  // NOTE: speculative()'s own default is true. Its draft cut is chosen from timings, so τ and the trees
  // shown change from run to run; off, a run is reproducible, which suits watching drafts. Tick to compare.
  adaptive: false,
};

/**
 * The form field of one descriptor option; undefined when neither the descriptor nor {@link formDefaults}
 * gives a starting value (the factory then decides, e.g. from the decoder's temperature).
 */
export function fieldOf(key: string, option: OptionDescriptor): OptionField | undefined {
  const fallback = formDefaults[key];
  switch (option.type) {
    case 'integer':
    case 'number': {
      const value = typeof fallback === 'number' ? fallback : option.default;
      if (value === undefined) return undefined;
      return {
        key,
        label: key,
        kind: option.type === 'integer' ? 'int' : 'number',
        default: value,
        min: option.min ?? -Number.MAX_SAFE_INTEGER,
        max: option.max ?? Number.MAX_SAFE_INTEGER,
        ...(option.type === 'number' ? { step: 0.05 } : {}),
        help: option.help,
      };
    }
    case 'boolean': {
      const value = typeof fallback === 'boolean' ? fallback : option.default;
      return value === undefined
        ? undefined
        : { key, label: key, kind: 'bool', default: value, help: option.help };
    }
    case 'enum':
      return {
        key,
        label: key,
        kind: 'select',
        default: option.default ?? option.values[0],
        choices: option.values,
        help: option.help,
      };
    case 'string':
      return option.default === undefined
        ? undefined
        : { key, label: key, kind: 'text', default: option.default, help: option.help };
  }
}

function fieldsFrom(options: Readonly<Record<string, OptionDescriptor>>): OptionField[] {
  return Object.entries(options).flatMap(([key, option]) => fieldOf(key, option) ?? []);
}

/** Options of core's `speculative()`, shown for every drafter. */
export const speculativeFields: readonly OptionField[] = fieldsFrom(SPECULATIVE_OPTIONS);

/** The entry of one descriptor. */
export function entryOf(descriptor: StrategyDescriptor): StrategyEntry {
  return {
    id: descriptor.id,
    aliases: descriptor.aliases ?? [],
    label: descriptor.id === 'ar' ? 'autoregressive' : descriptor.id,
    packageName: descriptor.packageName,
    summary: descriptor.description,
    kind:
      descriptor.id === 'ar'
        ? 'baseline'
        : descriptor.returns === 'drafter'
          ? 'drafter'
          : 'strategy',
    needsDraftModel: descriptor.secondModel?.required === true,
    options: fieldsFrom(descriptor.options),
    descriptor,
  };
}

export const strategies: readonly StrategyEntry[] = playgroundStrategyIds.map(id => {
  const descriptor = STRATEGY_DESCRIPTORS.find(candidate => candidate.id === id);
  if (!descriptor) throw new Error(`the catalogue has no strategy "${id}"`);
  return entryOf(descriptor);
});

/** A logits processor the composer can add (applied in the order listed). */
export interface ProcessorEntry {
  readonly id: string;
  readonly label: string;
  readonly field: OptionField;
}

export const processors: readonly ProcessorEntry[] = [
  {
    id: 'repetition-penalty',
    label: 'Repetition penalty',
    field: {
      key: 'value',
      label: 'r',
      kind: 'number',
      default: 1.1,
      min: 0.1,
      max: 3,
      step: 0.05,
      help: 'Hugging Face repetition penalty (1 = off).',
    },
  },
  {
    id: 'presence-penalty',
    label: 'Presence penalty',
    field: {
      key: 'value',
      label: 'a',
      kind: 'number',
      default: 0.5,
      min: -2,
      max: 2,
      step: 0.1,
      help: 'OpenAI presence penalty over generated tokens.',
    },
  },
  {
    id: 'frequency-penalty',
    label: 'Frequency penalty',
    field: {
      key: 'value',
      label: 'a',
      kind: 'number',
      default: 0.5,
      min: -2,
      max: 2,
      step: 0.1,
      help: 'OpenAI frequency penalty over generated tokens.',
    },
  },
  {
    id: 'no-repeat-ngram',
    label: 'No-repeat n-gram',
    field: {
      key: 'value',
      label: 'n',
      kind: 'int',
      default: 3,
      min: 1,
      max: 10,
      help: 'Ban repeating any n-gram of this size.',
    },
  },
  {
    id: 'bad-words',
    label: 'Bad words',
    field: {
      key: 'value',
      label: 'words',
      kind: 'text',
      default: 'ball|park',
      help: 'Words to ban, separated by |.',
    },
  },
];

/** Sampling parameters (GenerateOptions) the composer shows. */
export const samplingFields: readonly Extract<OptionField, { kind: 'int' | 'number' }>[] = [
  {
    key: 'temperature',
    label: 'temperature',
    kind: 'number',
    default: 0,
    min: 0,
    max: 2,
    step: 0.1,
    help: '0 decodes greedily.',
  },
  {
    key: 'topK',
    label: 'top-k',
    kind: 'int',
    default: 0,
    min: 0,
    max: 512,
    help: 'Keep the k most likely tokens (0 = off).',
  },
  {
    key: 'topP',
    label: 'top-p',
    kind: 'number',
    default: 1,
    min: 0.01,
    max: 1,
    step: 0.05,
    help: 'Nucleus threshold (1 = off).',
  },
  {
    key: 'minP',
    label: 'min-p',
    kind: 'number',
    default: 0,
    min: 0,
    max: 1,
    step: 0.01,
    help: 'Drop tokens below minP × top probability.',
  },
  {
    key: 'typicalP',
    label: 'typical-p',
    kind: 'number',
    default: 1,
    min: 0.01,
    max: 1,
    step: 0.05,
    help: 'Locally typical sampling mass (1 = off).',
  },
  {
    key: 'seed',
    label: 'seed',
    kind: 'int',
    default: 0,
    min: 0,
    max: 2 ** 31 - 1,
    help: 'Same seed, same output.',
  },
];

/** The entry whose id or alias is `id`. */
export function strategyById(id: string): StrategyEntry | undefined {
  return strategies.find(entry => entry.id === id || entry.aliases.includes(id));
}

export function processorById(id: string): ProcessorEntry | undefined {
  return processors.find(entry => entry.id === id);
}

/** All option fields of a strategy, speculative ones included (drafters: the strategy's own first). */
export function fieldsOf(entry: StrategyEntry): readonly OptionField[] {
  return entry.kind === 'drafter' ? [...entry.options, ...speculativeFields] : entry.options;
}
