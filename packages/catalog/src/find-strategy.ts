import type { StrategyDescriptor } from '@decodekit/core';
import { STRATEGY_DESCRIPTORS } from './strategy-descriptors.js';

/** The descriptor whose id or one of whose aliases is `name`, or undefined. */
export function findStrategy(
  name: string,
  descriptors: readonly StrategyDescriptor[] = STRATEGY_DESCRIPTORS,
): StrategyDescriptor | undefined {
  return descriptors.find(
    descriptor => descriptor.id === name || (descriptor.aliases ?? []).includes(name),
  );
}

/** Every name a user may type: each descriptor's id, then its aliases, in catalogue order. */
export function strategyNames(
  descriptors: readonly StrategyDescriptor[] = STRATEGY_DESCRIPTORS,
): string[] {
  return descriptors.flatMap(descriptor => [descriptor.id, ...(descriptor.aliases ?? [])]);
}
