import {
  descriptorOptions,
  InvalidArgumentError,
  parseStrategyOptions,
  type OptionValues,
  type StrategyDescriptor,
} from '@decodekit/core';
import { findStrategy, strategyNames } from './find-strategy.js';
import { parseStrategySpec } from './strategy-spec.js';
import { STRATEGY_DESCRIPTORS } from './strategy-descriptors.js';

/** A spec resolved against a catalogue: its descriptor and its checked options. */
export interface ResolvedStrategySpec {
  /** The name as typed (an id or an alias). */
  readonly name: string;
  readonly descriptor: StrategyDescriptor;
  /** Options checked by core's `parseStrategyOptions` (absent ones stay absent). */
  readonly options: OptionValues;
}

/** Options of {@link resolveStrategySpec}. */
export interface ResolveStrategySpecOptions {
  /** The catalogue to look names up in. Default {@link STRATEGY_DESCRIPTORS}. */
  readonly descriptors?: readonly StrategyDescriptor[];
  /** The argument named in errors (`--strategy`, `decodekit.strategy`, ...). Default `--strategy`. */
  readonly argument?: string;
  /** The message for an unknown name. Default: `unknown strategy "NAME"; known: <every name>.` */
  readonly unknownMessage?: (name: string, names: readonly string[]) => string;
}

/**
 * Parses a `NAME[:key=value,...]` spec, looks the name up and checks its options, so that every front end
 * (CLI, server, AI SDK provider) rejects the same bad input with the same typed error.
 * @throws InvalidArgumentError for a malformed spec, an unknown name, an unknown option key, or a value of the
 * wrong type or out of range (the message lists what is accepted).
 */
export function resolveStrategySpec(
  spec: string,
  options: ResolveStrategySpecOptions = {},
): ResolvedStrategySpec {
  const { descriptors = STRATEGY_DESCRIPTORS, argument = '--strategy' } = options;
  const { name, options: raw } = parseStrategySpec(spec, { argument });
  const descriptor = findStrategy(name, descriptors);
  if (!descriptor) {
    const names = strategyNames(descriptors);
    const message =
      options.unknownMessage?.(name, names) ??
      `unknown strategy "${name}"; known: ${names.join(', ')}.`;
    throw new InvalidArgumentError({ argument, message });
  }
  const accepted = Object.keys(descriptorOptions(descriptor));
  for (const key of Object.keys(raw)) {
    if (!accepted.includes(key)) {
      throw new InvalidArgumentError({
        argument,
        message: `"${name}" has no option "${key}"; it accepts: ${accepted.join(', ') || '(none)'}.`,
      });
    }
  }
  return { name, descriptor, options: parseStrategyOptions(descriptor, raw) };
}
