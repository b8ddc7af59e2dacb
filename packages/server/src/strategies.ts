import { StrategyRegistry as CatalogRegistry, type StrategyFactory } from '@decodekit/catalog';
import type { BuiltSetup, LoadedModel, StrategyDescriptor } from '@decodekit/core';

/** What a named strategy sets up: a strategy, processors, a wrapped model (core's `BuiltSetup`). */
export type StrategySetup = BuiltSetup;
export type { StrategyFactory };

/**
 * Resolves the `decodekit.strategy` extension field to setups, once per (model, value): the server's named
 * factories first, then `@decodekit/catalog`'s strategies as `NAME[:key=value,...]` (e.g.
 * `token-recycling:topK=4`), whose options are checked by core's `parseStrategyOptions`.
 */
export class StrategyRegistry extends CatalogRegistry {
  constructor(
    factories: Readonly<Record<string, StrategyFactory>>,
    descriptors?: readonly StrategyDescriptor[],
  ) {
    super({
      factories,
      descriptors,
      argument: 'decodekit.strategy',
      unknownMessage: (name, names) =>
        `unknown strategy "${name}"; this server offers: ${names.join(', ')}.`,
    });
  }

  /** The setup of `name` for the model registered as `modelId`. */
  override resolve(name: string, modelId: string, model: LoadedModel): Promise<StrategySetup> {
    return super.resolve(name, modelId, model);
  }
}
