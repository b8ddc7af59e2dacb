import { InvalidArgumentError } from '../errors.js';
import { speculative } from '../speculative/speculative.js';
import type { Drafter, Strategy } from '../strategy.js';
import type { CausalLM, LogitsProcessor, Tokenizer } from '../types.js';

/** One option of a strategy, as the CLI, the playground and servers show, parse and check it. */
export type OptionDescriptor =
  | {
      readonly type: 'integer' | 'number';
      /** The factory's own default (absent: the factory decides, e.g. from the model). */
      readonly default?: number;
      readonly min?: number;
      readonly max?: number;
      readonly help: string;
    }
  | { readonly type: 'boolean'; readonly default?: boolean; readonly help: string }
  | {
      readonly type: 'enum';
      readonly values: readonly string[];
      readonly default?: string;
      readonly help: string;
    }
  | { readonly type: 'string'; readonly default?: string; readonly help: string };

/** Option values after parsing: numbers, booleans and strings by their descriptors. */
export type OptionValues = Readonly<Record<string, number | boolean | string | undefined>>;

/**
 * A store for data a strategy builds once per model (ADED's n-gram store, a fitted head, a corpus): the CLI
 * keeps it on disk next to the converted models; without one, data is rebuilt each time.
 */
export interface ArtifactCache {
  get(key: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  set(key: string, bytes: Uint8Array): void | Promise<void>;
}

/** What a descriptor's `create` gets besides its options. */
export interface StrategyEnvironment {
  /** The target model. */
  readonly model: CausalLM;
  readonly tokenizer?: Tokenizer;
  /** The second model (a draft model, contrastive decoding's amateur) when the descriptor uses one. */
  readonly secondModel?: CausalLM;
  /** Reference of the second model as the user gave it (folder or id), for strategies that read its files. */
  readonly secondModelRef?: string;
  /** Where built data is kept between runs. */
  readonly cache?: ArtifactCache;
  /**
   * Reads a file an option names (a store, a fitted head); `undefined` when there is no such file. Absent where
   * there is no file system.
   */
  readonly readFile?: (path: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Progress lines of long builds. */
  readonly log?: (message: string) => void;
}

/** What a descriptor builds: a strategy, a drafter for core's `speculative()`, processors or a wrapped model. */
export interface StrategySetup {
  readonly strategy?: Strategy;
  /** Run through `speculative({ drafter, budget, adaptive })` with the user's budget/adaptive options. */
  readonly drafter?: Drafter;
  /** The budget this drafter is designed for, when the user gives none. */
  readonly budget?: number;
  /** Default of adaptive sizing for this drafter (true when absent). */
  readonly adaptive?: boolean;
  readonly processors?: readonly LogitsProcessor<unknown>[];
  /** The model to decode with, when the setup wraps the target (model middleware). */
  readonly model?: CausalLM;
}

/**
 * A strategy package's self-description: the one place its id, options (types, defaults taken from the factory,
 * ranges, help) and construction live. The CLI's `--strategy` registry and help, and the playground's composer,
 * are generated from descriptors, so adding a strategy touches its own package only.
 */
export interface StrategyDescriptor {
  /** The id users type (`--strategy token-recycling`). */
  readonly id: string;
  readonly aliases?: readonly string[];
  /** The npm package that exports it. */
  readonly packageName: string;
  /** One line: the paper's idea and whether it is exact. */
  readonly description: string;
  /**
   * What the package's factory returns: a `drafter` (run through core's `speculative()`; `budget` and `adaptive`
   * options are added), a `strategy`, `processor`s, or `middleware` (a wrapped model).
   */
  readonly returns: 'drafter' | 'strategy' | 'processor' | 'middleware';
  /** True when the output is token-identical to greedy at T = 0 (and the distribution exact at T > 0). */
  readonly lossless: boolean;
  /** Whether `create` needs `environment.secondModel` (`--draft-model`); `fallback` names a default reference. */
  readonly secondModel?: {
    readonly required: boolean;
    readonly role: string;
    /** A model reference (folder, hub id, or a `file:` URL of a folder the package ships). */
    readonly fallback?: string;
    /**
     * True when `fallback` is the strategy's own model (FastDraft's committed draft): `--draft-model`, which
     * other strategies of the same run use, does not replace it.
     */
    readonly bundled?: boolean;
  };
  readonly options: Readonly<Record<string, OptionDescriptor>>;
  create(
    options: OptionValues,
    environment: StrategyEnvironment,
  ): StrategySetup | Promise<StrategySetup>;
}

/** The options every drafter descriptor gets from core's `speculative()`. */
export const SPECULATIVE_OPTIONS: Readonly<Record<string, OptionDescriptor>> = {
  budget: {
    type: 'integer',
    min: 1,
    max: 1024,
    help: 'Most draft nodes verified per target forward (speculative({ budget })).',
  },
  adaptive: {
    type: 'boolean',
    default: true,
    help: 'Hardware-aware draft sizing from the measured cost curve (speculative({ adaptive })).',
  },
};

/** Every option a descriptor accepts (its own, plus `speculative()`'s for drafters). */
export function descriptorOptions(
  descriptor: StrategyDescriptor,
): Readonly<Record<string, OptionDescriptor>> {
  return descriptor.returns === 'drafter'
    ? { ...SPECULATIVE_OPTIONS, ...descriptor.options }
    : descriptor.options;
}

/**
 * Checks raw option values (from a CLI spec, a form or a request body) against a descriptor: unknown keys,
 * types, integer-ness, ranges and enum values; strings that spell numbers or booleans are converted.
 * Absent options stay absent, so the factory's own defaults apply.
 * @throws InvalidArgumentError naming the option and what it accepts.
 */
export function parseStrategyOptions(
  descriptor: StrategyDescriptor,
  raw: Readonly<Record<string, unknown>>,
): OptionValues {
  const accepted = descriptorOptions(descriptor);
  const parsed: Record<string, number | boolean | string> = {};
  for (const [key, value] of Object.entries(raw)) {
    const option = accepted[key];
    if (!option) {
      const keys = Object.keys(accepted);
      throw new InvalidArgumentError({
        argument: 'strategy',
        message: `"${descriptor.id}" has no option "${key}"; it accepts: ${keys.join(', ') || '(none)'}.`,
      });
    }
    parsed[key] = parseOption(descriptor.id, key, option, value);
  }
  return parsed;
}

function parseOption(
  id: string,
  key: string,
  option: OptionDescriptor,
  value: unknown,
): number | boolean | string {
  const fail = (expected: string): never => {
    throw new InvalidArgumentError({
      argument: 'strategy',
      message: `"${id}" option "${key}" must be ${expected}, got ${JSON.stringify(value)}.`,
    });
  };
  switch (option.type) {
    case 'integer':
    case 'number': {
      const number =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && value.trim() !== ''
            ? Number(value)
            : Number.NaN;
      const range = `${option.min ?? '-∞'}..${option.max ?? '∞'}`;
      if (!Number.isFinite(number)) fail(`a finite number in ${range}`);
      if (option.type === 'integer' && !Number.isInteger(number)) fail(`an integer in ${range}`);
      if (
        (option.min !== undefined && number < option.min) ||
        (option.max !== undefined && number > option.max)
      )
        fail(`in ${range}`);
      return number;
    }
    case 'boolean':
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      return fail('true or false');
    case 'enum':
      if (typeof value === 'string' && option.values.includes(value)) return value;
      return fail(`one of ${option.values.join(', ')}`);
    case 'string':
      if (typeof value === 'string' && value.length > 0) return value;
      return fail('a non-empty string');
  }
}

/**
 * The second model of a setup (`createFromDescriptor` has checked that a required one is there).
 * @throws InvalidArgumentError when the environment has none.
 */
export function secondModelOf(environment: StrategyEnvironment, id: string): CausalLM {
  if (!environment.secondModel) {
    throw new InvalidArgumentError({
      argument: 'draftModel',
      message: `"${id}" needs a second model (CLI: --draft-model REF, e.g. llama2xs).`,
    });
  }
  return environment.secondModel;
}

/**
 * Reads a file named by an option through the environment.
 * @param whenMissing what to tell the user when there is no such file (how to make one).
 * @throws InvalidArgumentError without file access, or when the file does not exist.
 */
export async function readOptionFile(
  environment: StrategyEnvironment,
  id: string,
  path: string,
  whenMissing = 'check the path given in the strategy options.',
): Promise<Uint8Array> {
  if (!environment.readFile) {
    throw new InvalidArgumentError({
      argument: 'strategy',
      message: `"${id}" reads "${path}", but this environment has no file access: pass the data instead.`,
    });
  }
  const bytes = await environment.readFile(path);
  if (bytes === undefined) {
    throw new InvalidArgumentError({
      argument: 'strategy',
      message: `"${id}": no file at "${path}"; ${whenMissing}`,
    });
  }
  return bytes;
}

/** A built setup as the decoder uses it: drafters wrapped into `speculative()` with the user's budget/adaptive. */
export interface BuiltSetup {
  readonly strategy?: Strategy;
  readonly processors?: readonly LogitsProcessor<unknown>[];
  readonly model?: CausalLM;
}

/**
 * Builds a descriptor's setup from raw options: parses them, checks the second model, calls `create`, and runs
 * a drafter through `speculative()`.
 */
export async function createFromDescriptor(
  descriptor: StrategyDescriptor,
  raw: Readonly<Record<string, unknown>>,
  environment: StrategyEnvironment,
): Promise<BuiltSetup> {
  const options = parseStrategyOptions(descriptor, raw);
  if (descriptor.secondModel?.required && !environment.secondModel) {
    throw new InvalidArgumentError({
      argument: 'draftModel',
      message: `"${descriptor.id}" needs a ${descriptor.secondModel.role}: pass a second model (CLI: --draft-model REF, e.g. llama2xs).`,
    });
  }
  const setup = await descriptor.create(options, environment);
  if (!setup.drafter) return setup;
  return {
    ...setup,
    strategy: speculative({
      drafter: setup.drafter,
      budget: (options.budget as number | undefined) ?? setup.budget,
      adaptive: (options.adaptive as boolean | undefined) ?? setup.adaptive ?? true,
    }),
  };
}
