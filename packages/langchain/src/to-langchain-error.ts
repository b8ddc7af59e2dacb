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
 */
export function toLangChainError(
  error: unknown,
  { signal, partialOutput }: { signal?: AbortSignal; partialOutput?: AIMessageChunk } = {},
): unknown {
  if (ContextOverflowError.isInstance(error) || ModelAbortError.isInstance(error)) return error;
  if (ContextLengthError.isInstance(error)) {
    return stampRetryable(ContextOverflowError.fromError(error), false);
  }
  if (AbortedError.isInstance(error) || signal?.aborted) {
    const cause = AbortedError.isInstance(error) ? error : new AbortedError({ reason: signal?.reason });
    const aborted = new ModelAbortError(cause.message, partialOutput);
    Object.defineProperty(aborted, 'cause', { value: cause, configurable: true, writable: true });
    return stampRetryable(aborted, false);
  }
  return error;
}
