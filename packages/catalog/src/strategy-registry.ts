import {
  createFromDescriptor,
  InvalidArgumentError,
  type ArtifactCache,
  type BuiltSetup,
  type LoadedModel,
  type Strategy,
  type StrategyDescriptor,
} from '@decodekit/core';
import { resolveStrategySpec } from './resolve-strategy-spec.js';
import { STRATEGY_DESCRIPTORS } from './strategy-descriptors.js';

/**
 * Makes a strategy for one model, e.g. `() => speculative({ drafter: promptLookup() })`. Called once per
 * (model, name) and reused: stateful drafters then see that model's calls one after another.
 */
export type StrategyFactory = (
  model: LoadedModel,
) => Strategy | BuiltSetup | Promise<Strategy | BuiltSetup>;

/** Options of {@link StrategyRegistry}. */
export interface StrategyRegistryOptions {
  /** Named factories, tried before the catalogue (a factory may also override a catalogue id). */
  readonly factories?: Readonly<Record<string, StrategyFactory>>;
  /** Descriptors a caller may name as `NAME[:key=value,...]`. Default {@link STRATEGY_DESCRIPTORS}; `[]` for none. */
  readonly descriptors?: readonly StrategyDescriptor[];
  /** The argument named in errors, e.g. `decodekit.strategy`. */
  readonly argument: string;
  /** The message for an unknown name, given every name on offer. */
  readonly unknownMessage?: (name: string, names: readonly string[]) => string;
}

/**
 * Resolves strategy names to setups, once per (model, spec): first the given factories, then the catalogue's
 * descriptors with their options checked by core's `parseStrategyOptions` (so a bad option is the same typed
 * `InvalidArgumentError` in every front end). `autoregressive` is always offered.
 *
 * Catalogue setups get no file access (request options must not name server files) and no second model (a
 * strategy that needs one is registered as a factory instead); data they build is kept in memory.
 */
export class StrategyRegistry {
  private readonly built = new Map<string, Promise<BuiltSetup>>();
  private readonly factories: Readonly<Record<string, StrategyFactory>>;
  private readonly descriptors: readonly StrategyDescriptor[];
  private readonly memory = new Map<string, Uint8Array>();
  private readonly cache: ArtifactCache = {
    get: key => this.memory.get(key),
    set: (key, bytes) => void this.memory.set(key, bytes),
  };

  constructor(private readonly options: StrategyRegistryOptions) {
    this.factories = options.factories ?? {};
    this.descriptors = options.descriptors ?? STRATEGY_DESCRIPTORS;
  }

  /** Names a caller may pick: `autoregressive`, the factories, then the catalogue's ids and aliases. */
  get names(): string[] {
    const names = ['autoregressive', ...Object.keys(this.factories)];
    for (const descriptor of this.descriptors)
      names.push(descriptor.id, ...(descriptor.aliases ?? []));
    return [...new Set(names)];
  }

  /**
   * The setup of `spec` (a factory's name, or a catalogue `NAME[:key=value,...]`) for the model registered as
   * `modelId`.
   * @throws InvalidArgumentError at once for an unknown name, a malformed spec or a bad option.
   */
  resolve(spec: string, modelId: string, model: LoadedModel): Promise<BuiltSetup> {
    const { argument } = this.options;
    if (typeof spec !== 'string') {
      throw new InvalidArgumentError({
        argument,
        message: `must be a strategy name (a string), got ${JSON.stringify(spec)}.`,
      });
    }
    const key = `${modelId}\u0000${spec}`;
    const cached = this.built.get(key);
    if (cached) return cached;
    const build = this.builder(spec, model);
    if (!build) return Promise.resolve({});
    const setup = build();
    this.built.set(key, setup);
    setup.catch(() => this.built.delete(key));
    return setup;
  }

  /** How to build `spec`, checked now; undefined for the built-in `autoregressive` (an empty setup). */
  private builder(spec: string, model: LoadedModel): (() => Promise<BuiltSetup>) | undefined {
    const factory = Object.hasOwn(this.factories, spec) ? this.factories[spec] : undefined;
    if (factory) return () => Promise.resolve(factory(model)).then(toSetup);
    if (spec === 'autoregressive') return undefined;
    const { argument, unknownMessage } = this.options;
    const names = this.names;
    const { descriptor, options } = resolveStrategySpec(spec, {
      descriptors: this.descriptors,
      argument,
      unknownMessage: name =>
        unknownMessage?.(name, names) ?? `unknown strategy "${name}"; known: ${names.join(', ')}.`,
    });
    if (descriptor.secondModel?.required) {
      throw new InvalidArgumentError({
        argument,
        message: `"${descriptor.id}" needs a ${descriptor.secondModel.role}; register it as a named strategy factory that loads that model.`,
      });
    }
    return () =>
      createFromDescriptor(descriptor, options, {
        model,
        tokenizer: model.tokenizer,
        cache: this.cache,
      });
  }
}

function toSetup(value: Strategy | BuiltSetup): BuiltSetup {
  return (value as { kind?: unknown }).kind === 'strategy'
    ? { strategy: value as Strategy }
    : (value as BuiltSetup);
}
