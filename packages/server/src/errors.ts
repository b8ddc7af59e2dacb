import { DecodingError } from '@decodekit/core';

/** The server's queue of waiting requests is full: answered with HTTP 429 and `Retry-After`. */
export class QueueFullError extends DecodingError {
  static override readonly errorName: string = 'QueueFullError';
  /** Requests waiting when this one was refused (the queue's capacity). */
  readonly queued: number;
  constructor({ queued }: { queued: number }) {
    super({
      name: 'QueueFullError',
      message: `The server is busy: ${queued} requests are already waiting. Retry later, or start the server with a larger queue.`,
    });
    this.queued = queued;
  }
  static override isInstance(error: unknown): error is QueueFullError {
    return DecodingError.hasMarker(error, 'QueueFullError');
  }
}

/** The server is shutting down and takes no more work: answered with HTTP 503. */
export class ServerClosingError extends DecodingError {
  static override readonly errorName: string = 'ServerClosingError';
  constructor() {
    super({
      name: 'ServerClosingError',
      message: 'The server is shutting down; send the request to another replica.',
    });
  }
  static override isInstance(error: unknown): error is ServerClosingError {
    return DecodingError.hasMarker(error, 'ServerClosingError');
  }
}
