import { InvalidArgumentError } from '@decodekit/core';

/** Throws unless `value` is undefined or a positive integer. */
export function checkThreads(value: number | undefined, argument: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
  }
}

const levels = ['disabled', 'basic', 'extended', 'all'];

/** Throws unless `value` is undefined or an ONNX Runtime graph optimization level. */
export function checkOptimizationLevel(value: string | undefined): void {
  if (value !== undefined && !levels.includes(value)) {
    throw new InvalidArgumentError({
      argument: 'graphOptimizationLevel',
      message: `must be one of ${levels.join(', ')}, got ${value}.`,
    });
  }
}
