// Kept in step with @decodekit/backend-onnx/src/run-queue.ts, which does not export it (see README, "Shared code").
import { AbortedError } from '@decodekit/core';

/**
 * Runs tasks one at a time, in call order. ONNX Runtime sessions are not safe to run concurrently in
 * onnxruntime-web, and the model's shared input buffers are filled inside the task, so every `session.run`
 * of one model goes through its queue. A task whose signal aborts while it waits rejects at once.
 */
export class RunQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Number of tasks queued or running. */
  get size(): number {
    return this.pending;
  }

  run<TResult>(task: () => Promise<TResult>, signal?: AbortSignal): Promise<TResult> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>(resolve => {
      release = resolve;
    });
    this.pending++;
    const done = () => {
      this.pending--;
      release();
    };
    if (this.pending === 1 || signal === undefined) {
      return previous.then(task).finally(done);
    }
    return new Promise<TResult>((resolve, reject) => {
      let started = false;
      const onAbort = () => {
        if (started) return;
        // Our turn still has to pass in order, so release it only after the previous task ends.
        reject(new AbortedError({ reason: signal.reason }));
        started = true;
        previous.then(done);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      previous.then(() => {
        signal.removeEventListener('abort', onAbort);
        if (started) return;
        started = true;
        task().then(resolve, reject).finally(done);
      });
    });
  }

  /** Resolves when every task queued so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
