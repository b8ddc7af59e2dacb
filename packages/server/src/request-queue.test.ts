import { AbortedError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { QueueFullError, RequestQueue, ServerClosingError } from './index.js';

describe('RequestQueue', () => {
  it('runs up to concurrency, queues up to maxQueued, and refuses one more at once', async () => {
    const queue = new RequestQueue(2, 1);
    const first = await queue.acquire();
    await queue.acquire();
    const waiting = queue.acquire();
    expect([queue.active, queue.queued]).toEqual([2, 1]);
    await expect(queue.acquire()).rejects.toSatisfy(QueueFullError.isInstance);
    first();
    first(); // a second release is harmless
    const third = await waiting; // the freed slot passed straight to the waiter
    expect([queue.active, queue.queued]).toEqual([2, 0]);
    third();
    expect(queue.active).toBe(1);
  });

  it('drops a waiter whose client went away', async () => {
    const queue = new RequestQueue(1, 4);
    const release = await queue.acquire();
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    controller.abort('gone');
    await expect(waiting).rejects.toSatisfy(AbortedError.isInstance);
    expect(queue.queued).toBe(0);
    release();
    expect(queue.active).toBe(0);
  });

  it('rejects waiters and new requests once closed', async () => {
    const queue = new RequestQueue(1, 4);
    await queue.acquire();
    const waiting = queue.acquire();
    queue.close();
    await expect(waiting).rejects.toSatisfy(ServerClosingError.isInstance);
    await expect(queue.acquire()).rejects.toSatisfy(ServerClosingError.isInstance);
  });

  it.each([
    [0, 1],
    [1, -1],
    [1.5, 1],
  ])('validates concurrency %d and maxQueued %d', (concurrency, maxQueued) => {
    expect(() => new RequestQueue(concurrency, maxQueued)).toThrow(/Invalid argument/);
  });
});

describe('RequestQueue.full', () => {
  it('says whether the next request would be refused', async () => {
    const queue = new RequestQueue(1, 1);
    expect(queue.full).toBe(false);
    const release = await queue.acquire();
    expect(queue.full).toBe(false);
    const waiting = queue.acquire();
    expect(queue.full).toBe(true);
    release();
    (await waiting)();
    expect(queue.full).toBe(false);
  });
});
