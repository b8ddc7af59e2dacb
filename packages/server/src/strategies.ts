import { StrategyRegistry as CatalogRegistry } from '@decodekit/catalog';
import type {
  CausalLM,
  LoadedModel,
  LogitsProcessor,
  Strategy,
  StrategyDescriptor,
} from '@decodekit/core';

/** What a named strategy sets up: a strategy, processors, a wrapped model, in any combination. */
export interface StrategySetup {
  strategy?: Strategy;
  processors?: readonly LogitsProcessor<unknown>[];
  /** The model to decode with, when the strategy wraps it (model middleware such as contrastive decoding). */
  model?: CausalLM;
}

/**
 * Makes a strategy for one model, e.g. `() => speculative({ drafter: promptLookup() })`. Called once per
 * (model, name) and reused: stateful drafters then see that model's requests one after another.
 */
export type StrategyFactory = (
  model: LoadedModel,
) => Strategy | StrategySetup | Promise<Strategy | StrategySetup>;

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
