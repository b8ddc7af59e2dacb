import { AbortedError, InvalidArgumentError } from '@decodekit/core';
import { QueueFullError, ServerClosingError } from './errors.js';

/** Frees a slot taken with {@link RequestQueue.acquire}. Calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  resolve(release: Release): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Admission control: at most `concurrency` requests decode at once, at most `maxQueued` wait, and one more
 * is refused at once with {@link QueueFullError} (HTTP 429) — memory never grows with offered load.
 * A waiter whose signal aborts (client gone) leaves the queue.
 */
export class RequestQueue {
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError({
        argument: 'concurrency',
        message: `must be a positive integer, got ${concurrency}.`,
      });
    }
    if (!Number.isInteger(maxQueued) || maxQueued < 0) {
      throw new InvalidArgumentError({
        argument: 'maxQueued',
        message: `must be a non-negative integer, got ${maxQueued}.`,
      });
    }
  }

  /** Requests decoding now. */
  get active(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /** True when a request arriving now would be refused (every slot busy and the queue full). */
  get full(): boolean {
    return this.running >= this.concurrency && this.waiters.length >= this.maxQueued;
  }

  /**
   * Waits for a slot. Rejects at once with QueueFullError when `maxQueued` requests already wait, with
   * AbortedError when `signal` aborts first, and with ServerClosingError after {@link close}.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.closed) return Promise.reject(new ServerClosingError());
    if (signal?.aborted) return Promise.reject(new AbortedError({ reason: signal.reason }));
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.maxQueued)
      return Promise.reject(new QueueFullError({ queued: this.waiters.length }));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new AbortedError({ reason: signal.reason }));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** Refuses new requests and rejects every waiting one with ServerClosingError; running ones go on. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(new ServerClosingError());
    }
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (!next) {
        this.running--;
        return;
      }
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve(this.releaser()); // the slot passes straight to the next waiter
    };
  }
}
