import { BackendError, DecodingError, InvalidArgumentError } from '@decodekit/core';
import { getRetryable, LangChainError, stampRetryable } from '@langchain/core/errors';

/** Node system error codes of failures that a later attempt can get past (I/O contention, network). */
const TRANSIENT_CODES = new Set([
  'EAGAIN',
  'EBUSY',
  'EMFILE',
  'ENFILE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * Whether retrying a failed call can succeed. A local decoder is deterministic, so almost nothing can: bad
 * options, a prompt over the context, an abort, a missing or malformed model, a constraint dead end fail
 * the same way every time. What can: a backend (runtime) failure such as a lost device or out-of-memory,
 * and transient I/O while loading a model (busy files, a dropped download).
 */
export function isRetryable(error: unknown): boolean {
  if (BackendError.isInstance(error)) return true;
  if (DecodingError.isInstance(error)) return false;
  if (LangChainError.isInstance(error)) return getRetryable(error) ?? false;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/** Marks an error with LangChain's retryable stamp (read by `AsyncCaller`) from {@link isRetryable}. */
export function stampRetryability<TError>(error: TError): TError {
  return stampRetryable(error, isRetryable(error));
}

/** The signal of one call: the caller's, plus the instance timeout when one is set. */
export function callSignal(
  signal: AbortSignal | undefined,
  timeout: number | undefined,
): AbortSignal | undefined {
  if (timeout === undefined) return signal;
  const timer = AbortSignal.timeout(timeout);
  return signal ? AbortSignal.any([signal, timer]) : timer;
}

/** Validates `timeout` and `maxRetries` where they are given (constructor). */
export function validateCallPolicy({
  timeout,
  maxRetries,
}: {
  timeout?: unknown;
  maxRetries?: unknown;
}): void {
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && timeout < 2 ** 31)) {
    throw new InvalidArgumentError({
      argument: 'timeout',
      message: `must be a positive number of milliseconds, got ${String(timeout)}.`,
    });
  }
  if (
    maxRetries !== undefined &&
    !(typeof maxRetries === 'number' && Number.isInteger(maxRetries) && maxRetries >= 0)
  ) {
    throw new InvalidArgumentError({
      argument: 'maxRetries',
      message: `must be a non-negative integer, got ${String(maxRetries)}.`,
    });
  }
}
