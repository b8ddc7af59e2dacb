import { AbortedError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { RunQueue } from './run-queue';

const tick = () => new Promise(resolve => setTimeout(resolve, 5));

describe('RunQueue', () => {
  it('runs tasks one at a time in call order', async () => {
    const queue = new RunQueue();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([
      queue.run(task('a')),
      queue.run(task('b')),
      queue.run(task('c')),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(queue.size).toBe(0);
  });

  it('rejects a waiting task at once when its signal aborts, and keeps the order for the rest', async () => {
    const queue = new RunQueue();
    const log: string[] = [];
    const slow = queue.run(async () => {
      await tick();
      log.push('slow');
    });
    const controller = new AbortController();
    const aborted = queue.run(async () => {
      log.push('never');
    }, controller.signal);
    const after = queue.run(async () => {
      log.push('after');
    });
    controller.abort('stop');
    await expect(aborted).rejects.toSatisfy(AbortedError.isInstance);
    await Promise.all([slow, after]);
    expect(log).toEqual(['slow', 'after']);
  });

  it('keeps going after a task fails', async () => {
    const queue = new RunQueue();
    await expect(queue.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run(async () => 7)).resolves.toBe(7);
  });
});
