import { AbortedError, ContextLengthError } from '@decodekit/core';
import { ContextOverflowError, ModelAbortError, stampRetryable } from '@langchain/core/errors';
import type { AIMessageChunk } from '@langchain/core/messages';

/**
 * Turns a decodekit error into the `@langchain/core` error LangChain code checks for, keeping the decodekit
 * error as `cause`: ContextLengthError → ContextOverflowError; AbortedError (or any failure after the call's
 * signal fired) → ModelAbortError with the partial output. Both are stamped not retryable (retrying the
 * same prompt or a cancelled call cannot succeed). Any other error is returned unchanged.
 *
 * @param partialOutput What the model produced before an abort (chat models only).
 * @param timeout The instance timeout (ms), named in the message when the abort was that timeout.
 */
export function toLangChainError(
  error: unknown,
  {
    signal,
    partialOutput,
    timeout,
  }: { signal?: AbortSignal; partialOutput?: AIMessageChunk; timeout?: number } = {},
): unknown {
  if (ContextOverflowError.isInstance(error) || ModelAbortError.isInstance(error)) return error;
  if (ContextLengthError.isInstance(error)) {
    return stampRetryable(ContextOverflowError.fromError(error), false);
  }
  if (AbortedError.isInstance(error) || signal?.aborted) {
    const cause = AbortedError.isInstance(error)
      ? error
      : new AbortedError({ reason: signal?.reason });
    const timedOut = (signal?.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
    const message = timedOut
      ? `The call timed out${timeout === undefined ? '' : ` after ${timeout} ms`} (the timeout option).`
      : cause.message;
    const aborted = new ModelAbortError(message, partialOutput);
    Object.defineProperty(aborted, 'cause', { value: cause, configurable: true, writable: true });
    return stampRetryable(aborted, false);
  }
  return error;
}
