export {
  describeOption,
  describeStrategies,
  strategyHelp,
  type StrategySummary,
} from './describe-strategies.js';
export { findStrategy, strategyNames } from './find-strategy.js';
export {
  resolveStrategySpec,
  type ResolvedStrategySpec,
  type ResolveStrategySpecOptions,
} from './resolve-strategy-spec.js';
export { autoregressiveDescriptor, STRATEGY_DESCRIPTORS } from './strategy-descriptors.js';
export {
  parseStrategySpec,
  type ParseStrategySpecOptions,
  type StrategySpec,
} from './strategy-spec.js';
export {
  StrategyRegistry,
  type StrategyFactory,
  type StrategyRegistryOptions,
} from './strategy-registry.js';
