/**
 * What the composer offers: strategies with their options, and logits processors. Metadata only (no
 * decoding code), so the page can draw the form without loading the strategy packages; the worker turns a
 * choice into real objects in decoder-factory.ts.
 */

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
  | { readonly key: string; readonly label: string; readonly kind: 'bool'; readonly default: boolean; readonly help: string }
  | { readonly key: string; readonly label: string; readonly kind: 'text'; readonly default: string; readonly help: string };

export type OptionValue = number | string | boolean;

/** A strategy the composer can pick. */
export interface StrategyEntry {
  readonly id: string;
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
  readonly options: readonly OptionField[];
}

/** Options of core's `speculative()`, shown for every speculative strategy. */
export const speculativeFields: readonly OptionField[] = [
  {
    key: 'budget',
    label: 'budget',
    kind: 'int',
    default: 16,
    min: 1,
    max: 128,
    help: 'Most draft nodes verified per target forward (speculative({ budget })).',
  },
  {
    key: 'adaptive',
    label: 'adaptive',
    kind: 'bool',
    // NOTE: speculative()'s own default is true. Its draft cut is chosen from timings, so τ and the trees
    // shown change from run to run; off, a run is reproducible, which suits watching drafts. Tick to compare.
    default: false,
    help: 'Hardware-aware draft cut from measured forward costs (the library default; never changes the output, but τ then varies run to run).',
  },
];

export const strategies: readonly StrategyEntry[] = [
  {
    id: 'autoregressive',
    label: 'Autoregressive',
    packageName: '@decodekit/core',
    summary: 'The baseline: one target forward per token.',
    kind: 'baseline',
    options: [],
  },
  {
    id: 'token-recycling',
    label: 'Token Recycling',
    packageName: '@decodekit/strategy-token-recycling',
    summary: "Reuses the target's own top-k candidates as a static draft tree (Luo et al., 2024). Lossless.",
    kind: 'drafter',
    options: [
      { key: 'topK', label: 'topK', kind: 'int', default: 8, min: 1, max: 16, help: 'Candidates kept per token.' },
    ],
  },
  {
    id: 'prompt-lookup',
    label: 'Prompt Lookup',
    packageName: '@decodekit/strategy-prompt-lookup',
    summary: 'Copies what followed an earlier occurrence of the last n-gram in the prompt or output. Lossless.',
    kind: 'drafter',
    options: [
      { key: 'maxNgramSize', label: 'maxNgramSize', kind: 'int', default: 3, min: 1, max: 8, help: 'Longest n-gram matched (tried first).' },
      { key: 'minNgramSize', label: 'minNgramSize', kind: 'int', default: 1, min: 1, max: 8, help: 'Shortest n-gram tried.' },
      {
        key: 'numSpeculativeTokens',
        label: 'numSpeculativeTokens',
        kind: 'int',
        default: 10,
        min: 1,
        max: 64,
        help: 'Most tokens copied after a match.',
      },
      {
        key: 'prefer',
        label: 'prefer',
        kind: 'select',
        default: 'latest',
        choices: ['latest', 'earliest'],
        help: 'Which earlier occurrence to copy.',
      },
      { key: 'branches', label: 'branches', kind: 'int', default: 1, min: 1, max: 8, help: 'Matches merged into one draft tree.' },
    ],
  },
  {
    id: 'draft-model',
    label: 'Draft model',
    packageName: '@decodekit/strategy-draft-model',
    summary: 'A second small model (llama2xs, same vocabulary) drafts a chain; the target verifies it. Lossless.',
    kind: 'drafter',
    needsDraftModel: true,
    options: [
      {
        key: 'numAssistantTokens',
        label: 'numAssistantTokens',
        kind: 'int',
        default: 5,
        min: 1,
        max: 32,
        help: 'Tokens drafted per step at the start.',
      },
      {
        key: 'schedule',
        label: 'schedule',
        kind: 'select',
        default: 'heuristic',
        choices: ['heuristic', 'heuristic-transient', 'constant'],
        help: '+2 after a fully accepted draft, −1 otherwise; or constant.',
      },
      {
        key: 'temperature',
        label: 'draft temperature',
        kind: 'number',
        default: 0,
        min: 0,
        max: 2,
        step: 0.1,
        help: '0: greedy drafts. > 0: sampled drafts verified by speculative sampling.',
      },
    ],
  },
  {
    id: 'copyspec',
    label: 'CopySpec',
    packageName: '@decodekit/strategy-copyspec',
    summary: 'Copies what followed the last γ tokens anywhere in the history; steps without a match go to a fallback drafter. Lossless.',
    kind: 'drafter',
    options: [
      { key: 'gamma', label: 'gamma', kind: 'int', default: 3, min: 1, max: 8, help: 'Tokens matched.' },
      { key: 'numberCopy', label: 'numberCopy', kind: 'int', default: 10, min: 1, max: 64, help: 'Most tokens copied after a match.' },
      {
        key: 'prefer',
        label: 'prefer',
        kind: 'select',
        default: 'earliest',
        choices: ['earliest', 'latest'],
        help: 'Copy from the first or the latest occurrence.',
      },
      {
        key: 'fallback',
        label: 'fallback',
        kind: 'select',
        default: 'token-recycling',
        choices: ['token-recycling', 'none'],
        help: 'Drafter for steps without a match.',
      },
    ],
  },
  {
    id: 'lookahead',
    label: 'Lookahead',
    packageName: '@decodekit/strategy-lookahead',
    summary: 'A Jacobi-iteration window, an n-gram pool and verification of pooled n-grams in one forward. Lossless.',
    kind: 'strategy',
    options: [
      { key: 'windowSize', label: 'windowSize (W)', kind: 'int', default: 4, min: 1, max: 16, help: 'Future positions in the Jacobi window.' },
      { key: 'ngramSize', label: 'ngramSize (N)', kind: 'int', default: 4, min: 3, max: 8, help: 'n-gram size.' },
      { key: 'guessSetSize', label: 'guessSetSize (G)', kind: 'int', default: 2, min: 1, max: 16, help: 'n-grams verified per key token.' },
      { key: 'poolFromPrompt', label: 'poolFromPrompt', kind: 'bool', default: true, help: "Seed the pool with the prompt's n-grams." },
    ],
  },
  {
    id: 'swift',
    label: 'SWIFT (self-speculative)',
    packageName: '@decodekit/strategy-swift',
    summary: 'The target drafts for itself with some layers skipped, searching on the fly which ones. Lossless.',
    kind: 'strategy',
    options: [
      { key: 'skipRatio', label: 'skipRatio', kind: 'number', default: 0.45, min: 0.05, max: 0.95, step: 0.05, help: 'Fraction of middle layers to skip.' },
      { key: 'maxDraftSteps', label: 'maxDraftSteps', kind: 'int', default: 25, min: 1, max: 64, help: 'Most draft steps.' },
      { key: 'stopThreshold', label: 'stopThreshold', kind: 'number', default: 0.8, min: 0, max: 1, step: 0.05, help: 'Stop drafting below this top-1 probability.' },
      { key: 'budget', label: 'budget', kind: 'int', default: 16, min: 1, max: 128, help: 'Most draft rows verified per forward.' },
    ],
  },
  {
    id: 'spectr',
    label: 'SpecTr',
    packageName: '@decodekit/strategy-spectr',
    summary: 'k i.i.d. drafts from the draft model (llama2xs), verified with K-SEQ optimal-transport selection. Lossless.',
    kind: 'strategy',
    needsDraftModel: true,
    options: [
      { key: 'k', label: 'k', kind: 'int', default: 4, min: 1, max: 8, help: 'Number of draft sequences.' },
      { key: 'draftLength', label: 'draftLength', kind: 'int', default: 4, min: 1, max: 16, help: 'Tokens per draft sequence.' },
    ],
  },
];

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
    field: { key: 'value', label: 'r', kind: 'number', default: 1.1, min: 0.1, max: 3, step: 0.05, help: 'Hugging Face repetition penalty (1 = off).' },
  },
  {
    id: 'presence-penalty',
    label: 'Presence penalty',
    field: { key: 'value', label: 'a', kind: 'number', default: 0.5, min: -2, max: 2, step: 0.1, help: 'OpenAI presence penalty over generated tokens.' },
  },
  {
    id: 'frequency-penalty',
    label: 'Frequency penalty',
    field: { key: 'value', label: 'a', kind: 'number', default: 0.5, min: -2, max: 2, step: 0.1, help: 'OpenAI frequency penalty over generated tokens.' },
  },
  {
    id: 'no-repeat-ngram',
    label: 'No-repeat n-gram',
    field: { key: 'value', label: 'n', kind: 'int', default: 3, min: 1, max: 10, help: 'Ban repeating any n-gram of this size.' },
  },
  {
    id: 'bad-words',
    label: 'Bad words',
    field: { key: 'value', label: 'words', kind: 'text', default: 'ball|park', help: 'Words to ban, separated by |.' },
  },
];

/** Sampling parameters (GenerateOptions) the composer shows. */
export const samplingFields: readonly Extract<OptionField, { kind: 'int' | 'number' }>[] = [
  { key: 'temperature', label: 'temperature', kind: 'number', default: 0, min: 0, max: 2, step: 0.1, help: '0 decodes greedily.' },
  { key: 'topK', label: 'top-k', kind: 'int', default: 0, min: 0, max: 512, help: 'Keep the k most likely tokens (0 = off).' },
  { key: 'topP', label: 'top-p', kind: 'number', default: 1, min: 0.01, max: 1, step: 0.05, help: 'Nucleus threshold (1 = off).' },
  { key: 'minP', label: 'min-p', kind: 'number', default: 0, min: 0, max: 1, step: 0.01, help: 'Drop tokens below minP × top probability.' },
  { key: 'typicalP', label: 'typical-p', kind: 'number', default: 1, min: 0.01, max: 1, step: 0.05, help: 'Locally typical sampling mass (1 = off).' },
  { key: 'seed', label: 'seed', kind: 'int', default: 0, min: 0, max: 2 ** 31 - 1, help: 'Same seed, same output.' },
];

export function strategyById(id: string): StrategyEntry | undefined {
  return strategies.find(entry => entry.id === id);
}

export function processorById(id: string): ProcessorEntry | undefined {
  return processors.find(entry => entry.id === id);
}

/** All option fields of a strategy, speculative ones included. */
export function fieldsOf(entry: StrategyEntry): readonly OptionField[] {
  return entry.kind === 'drafter' ? [...entry.options, ...speculativeFields] : entry.options;
}
