import { InvalidArgumentError } from '@decodekit/core';

/** A commander parser for a numeric option that fails with a typed error. */
export function number(name: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value))
      throw new InvalidArgumentError({
        argument: name,
        message: `expected a number, got "${raw}".`,
      });
    return value;
  };
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
