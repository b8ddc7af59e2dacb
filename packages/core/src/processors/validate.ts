import { InvalidArgumentError } from '../errors.js';

/** @internal Throws InvalidArgumentError unless `value` is a finite number. */
export function assertFinite(argument: string, value: number, hint: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError({
      argument,
      message: `expected a finite number, got ${String(value)}. ${hint}`,
    });
  }
}

/** @internal Throws InvalidArgumentError unless `value` is a non-negative integer (a token id). */
export function assertTokenId(argument: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError({
      argument,
      message: `expected a token id (a non-negative integer), got ${String(value)}.`,
    });
  }
}
