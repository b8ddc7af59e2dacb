import { describe, expect, it } from 'vitest';
import { createDecoder } from '../decoder/create-decoder.js';
import { DisposedError } from '../errors.js';
import { mockModel } from '../testing/mock-model.js';
import type { CausalLM, Sequence } from '../types.js';
import { wrapModel, type ModelMiddleware } from './wrap-model.js';

/** Next-token logits favour (last token + 1) mod 5, so decoding walks 1, 2, 3, ... */
const counting = () =>
  mockModel({
    vocabSize: 5,
    logits: context => {
      const row = [0, 0, 0, 0, 0];
      row[(context[context.length - 1] + 1) % 5] = 3;
      return row;
    },
  });

/**
 * A per-sequence middleware: each wrapped sequence opens a shadow sequence of the inner model that follows
 * every commit, truncate and fork, and adds the shadow's logits to the main stream's (so the sum is 2×).
 */
function shadowMiddleware(opened: Sequence[]): ModelMiddleware {
  const pair = (main: Sequence, shadow: Sequence): Sequence => ({
    get tokens() {
      return main.tokens;
    },
    async forward(input, options) {
      const [a, b] = await Promise.all([
        main.forward(input, options),
        shadow.forward(input, options),
      ]);
      return { logits: a.logits.map((value, i) => value + b.logits[i]) };
    },
    commit(rows) {
      main.commit(rows);
      shadow.commit(rows);
    },
    truncate(length) {
      main.truncate(length);
      shadow.truncate(length);
    },
    fork: () => pair(main.fork(), shadow.fork()),
    dispose() {
      main.dispose();
      shadow.dispose();
    },
  });
  return {
    name: 'shadow',
    wrapSequence({ sequence, model }: { sequence: Sequence; model: CausalLM }) {
      const shadow = model.createSequence();
      opened.push(shadow);
      return pair(sequence, shadow);
    },
  };
}

describe('wrapModel', () => {
  it('wrapSequence wraps each sequence the model opens; commits, truncates and forks reach its state', async () => {
    const opened: Sequence[] = [];
    const model = wrapModel({ model: counting(), middleware: shadowMiddleware(opened) });
    const sequence = model.createSequence();
    expect(opened).toHaveLength(1);
    const { logits } = await sequence.forward({ tokens: Int32Array.of(1, 2) });
    expect(Array.from(logits.subarray(5, 10))).toEqual([0, 0, 0, 6, 0]);
    sequence.commit([0, 1]);
    expect(opened[0].tokens).toEqual([1, 2]);
    const fork = sequence.fork();
    fork.truncate(1);
    expect(fork.tokens).toEqual([1]);
    expect(sequence.tokens).toEqual([1, 2]);
    expect(opened[0].tokens).toEqual([1, 2]);
    const after = await fork.forward({ tokens: Int32Array.of(4) });
    expect(Array.from(after.logits)).toEqual([6, 0, 0, 0, 0]);
  });

  it('wrapForward of the same middleware wraps the wrapped sequence and its forks', async () => {
    const opened: Sequence[] = [];
    const seen: Sequence[] = [];
    const middleware: ModelMiddleware = {
      ...shadowMiddleware(opened),
      async wrapForward({ input, options, sequence, doForward }) {
        seen.push(sequence);
        const output = await doForward(input, options);
        return { logits: output.logits.map(value => -value) };
      },
    };
    const model = wrapModel({ model: counting(), middleware });
    const sequence = model.createSequence();
    const first = await sequence.forward({ tokens: Int32Array.of(0) });
    expect(Array.from(first.logits)).toEqual([-0, -6, -0, -0, -0]);
    const second = await sequence.fork().forward({ tokens: Int32Array.of(2) });
    expect(Array.from(second.logits)).toEqual([-0, -0, -0, -6, -0]);
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(seen[1]);
  });

  it('folds a list in reverse: the first middleware is the outermost', async () => {
    const order: string[] = [];
    const layer = (name: string): ModelMiddleware => ({
      name,
      wrapSequence({ sequence }) {
        order.push(`open ${name}`);
        return {
          ...sequence,
          get tokens() {
            return sequence.tokens;
          },
          forward(input, options) {
            order.push(`forward ${name}`);
            return sequence.forward(input, options);
          },
        };
      },
    });
    const model = wrapModel({ model: counting(), middleware: [layer('outer'), layer('inner')] });
    await model.createSequence().forward({ tokens: Int32Array.of(1) });
    expect(order).toEqual(['open inner', 'open outer', 'forward outer', 'forward inner']);
  });

  it('the decoder decodes the wrapped model, disposing what the middleware opened', async () => {
    const opened: Sequence[] = [];
    const model = wrapModel({ model: counting(), middleware: shadowMiddleware(opened) });
    const { tokens } = await createDecoder({ model }).generate({ tokens: [0] }, { maxTokens: 4 });
    expect(tokens).toEqual([1, 2, 3, 4]);
    expect(opened).toHaveLength(1);
    expect(() => opened[0].fork()).toThrow(DisposedError);
  });
});
