import { StrategyRegistry as CatalogRegistry, type StrategyFactory } from '@decodekit/catalog';
import type { BuiltSetup, LoadedModel, StrategyDescriptor } from '@decodekit/core';

/** What a named strategy sets up: a strategy, processors, a wrapped model (core's `BuiltSetup`). */
export type StrategySetup = BuiltSetup;
export type { StrategyFactory };

/**
 * Resolves `providerOptions.decodekit.strategy` to setups, once per (model, value): the provider's named
 * factories first, then `@decodekit/catalog`'s strategies as `NAME[:key=value,...]` (e.g.
 * `prompt-lookup:maxNgramSize=2`), whose options are checked by core's `parseStrategyOptions`.
 */
export class StrategyRegistry extends CatalogRegistry {
  constructor(
    factories: Readonly<Record<string, StrategyFactory>>,
    descriptors?: readonly StrategyDescriptor[],
  ) {
    super({
      factories,
      descriptors,
      argument: 'providerOptions.decodekit.strategy',
      unknownMessage: (name, names) =>
        `unknown strategy "${name}"; this provider has: ${names.join(', ')} (add more with createDecodekit({ strategies })).`,
    });
  }

  /** The setup of `name` for `modelId`. */
  override resolve(name: string, modelId: string, model: LoadedModel): Promise<StrategySetup> {
    return super.resolve(name, modelId, model);
  }
}
