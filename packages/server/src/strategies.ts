import { InvalidArgumentError, type CausalLM, type LoadedModel, type LogitsProcessor, type Strategy } from '@decodekit/core';

/** What a named strategy sets up: a strategy, processors, a wrapped model, in any combination. */
export interface StrategySetup {
  strategy?: Strategy;
  processors?: readonly LogitsProcessor<any>[];
  /** The model to decode with, when the strategy wraps it (model middleware such as contrastive decoding). */
  model?: CausalLM;
}

/**
 * Makes a strategy for one model, e.g. `() => speculative({ drafter: promptLookup() })`. Called once per
 * (model, name) and reused: stateful drafters then see that model's requests one after another.
 */
export type StrategyFactory = (model: LoadedModel) => Strategy | StrategySetup | Promise<Strategy | StrategySetup>;

/** Resolves strategy names to setups, once per (model, name). */
export class StrategyRegistry {
  private readonly built = new Map<string, Promise<StrategySetup>>();

  constructor(private readonly factories: Readonly<Record<string, StrategyFactory>>) {}

  /** Names a request may pick. */
  get names(): string[] {
    return ['autoregressive', ...Object.keys(this.factories).filter(name => name !== 'autoregressive')];
  }

  /** The setup of `name` for the model registered as `modelId`. */
  resolve(name: string, modelId: string, model: LoadedModel): Promise<StrategySetup> {
    if (name === 'autoregressive' && !this.factories.autoregressive) return Promise.resolve({});
    const factory = this.factories[name];
    if (!factory) {
      throw new InvalidArgumentError({ argument: 'decodekit.strategy', message: `unknown strategy "${name}"; this server offers: ${this.names.join(', ')}.` });
    }
    const key = `${modelId}\u0000${name}`;
    let setup = this.built.get(key);
    if (!setup) {
      setup = Promise.resolve(factory(model)).then(toSetup);
      this.built.set(key, setup);
      setup.catch(() => this.built.delete(key));
    }
    return setup;
  }
}

function toSetup(value: Strategy | StrategySetup): StrategySetup {
  return (value as { kind?: unknown }).kind === 'strategy' ? { strategy: value as Strategy } : (value as StrategySetup);
}
