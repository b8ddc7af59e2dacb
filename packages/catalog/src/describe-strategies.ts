import { descriptorOptions, type OptionDescriptor, type StrategyDescriptor } from '@decodekit/core';
import { STRATEGY_DESCRIPTORS } from './strategy-descriptors.js';

/** One strategy as help texts show it. */
export interface StrategySummary {
  /** The descriptor's id. */
  readonly name: string;
  readonly description: string;
  /** Every option key it accepts (`budget` and `adaptive` included for drafters). */
  readonly keys: readonly string[];
  /** `key=<type> (default x), ...`, empty when it has no options. */
  readonly options: string;
}

/** `key=<type>` with the default when the descriptor gives one, e.g. `topK=<integer> (default 8)`. */
export function describeOption(key: string, option: OptionDescriptor): string {
  const kind = option.type === 'enum' ? option.values.join('|') : option.type;
  return option.default === undefined
    ? `${key}=<${kind}>`
    : `${key}=<${kind}> (default ${String(option.default)})`;
}

/** The catalogue for help texts: each strategy's id, description and options with their types and defaults. */
export function describeStrategies(
  descriptors: readonly StrategyDescriptor[] = STRATEGY_DESCRIPTORS,
): StrategySummary[] {
  return descriptors.map(descriptor => {
    const options = descriptorOptions(descriptor);
    return {
      name: descriptor.id,
      description: descriptor.description,
      keys: Object.keys(options),
      options: Object.entries(options)
        .map(([key, option]) => describeOption(key, option))
        .join(', '),
    };
  });
}

/** A help section listing every strategy and its options (`decodekit --help` prints it). */
export function strategyHelp(
  descriptors: readonly StrategyDescriptor[] = STRATEGY_DESCRIPTORS,
): string {
  const lines = ['', 'Strategies (NAME[:key=value,...]):'];
  for (const { name, description, options } of describeStrategies(descriptors)) {
    lines.push(`  ${name}  ${description}`);
    if (options) lines.push(`      ${options}`);
  }
  return lines.join('\n');
}
