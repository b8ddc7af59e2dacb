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
 * (model, name) and reused.
 */
export type StrategyFactory = (
  model: LoadedModel,
) => Strategy | StrategySetup | Promise<Strategy | StrategySetup>;

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
