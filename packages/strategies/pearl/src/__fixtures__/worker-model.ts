import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import type { CausalLM, ForwardInput, ForwardOutput, Sequence } from '@decodekit/core';

/** A CausalLM whose forwards run in a worker thread (test/measurement helper, not part of the package). */
export async function workerModel(
  ref: string,
): Promise<CausalLM & { terminate(): Promise<number> }> {
  const worker = new Worker(resolve(__dirname, 'draft-worker.mjs'), { workerData: { model: ref } });
  const pending = new Map<
    number,
    { resolve: (out: ForwardOutput) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let nextSeq = 0;
  const ready = await new Promise<{
    info: CausalLM['info'];
    capabilities: CausalLM['capabilities'];
  }>((done, fail) => {
    worker.once('message', done);
    worker.once('error', fail);
  });
  worker.on(
    'message',
    (message: { id: number; logits?: Float32Array; hidden?: Float32Array; error?: string }) => {
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error));
      else if (message.logits === undefined) waiter.reject(new Error('the worker answered without logits'));
      else waiter.resolve({ logits: message.logits, hidden: message.hidden });
    },
  );
  return {
    info: ready.info,
    capabilities: ready.capabilities,
    createSequence(): Sequence {
      const seq = nextSeq++;
      worker.postMessage({ op: 'create', seq });
      let committed: number[] = [];
      let last: Int32Array | undefined;
      const sequence: Sequence = {
        get tokens() {
          return committed;
        },
        forward(input: ForwardInput) {
          const id = nextId++;
          last = input.tokens.slice();
          return new Promise<ForwardOutput>((done, fail) => {
            pending.set(id, { resolve: done, reject: fail });
            worker.postMessage({
              op: 'forward',
              seq,
              id,
              tokens: last,
              hidden: input.hidden === true,
            });
          });
        },
        commit(rows) {
          const fed = last;
          if (fed === undefined) throw new Error('commit before any forward');
          const kept = Array.from(rows, row => fed[row]);
          committed = [...committed, ...kept];
          worker.postMessage({ op: 'commit', seq, rows: Array.from(rows) });
        },
        truncate(length) {
          committed = committed.slice(0, length);
          worker.postMessage({ op: 'truncate', seq, length });
        },
        fork() {
          throw new Error('workerModel sequences cannot fork');
        },
        dispose() {
          worker.postMessage({ op: 'dispose', seq });
        },
      };
      return sequence;
    },
    async dispose() {
      await worker.terminate();
    },
    terminate: () => worker.terminate(),
  };
}
