import { seededRandom, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from './load-model';

/**
 * Commits that drop rows keep them as masked cache slots (zero-copy) and compact later: the logits after
 * any mix of tree commits, truncates and forks must equal a plain chain forward over the same tokens.
 */
describe('masked (lazy) commits', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
  });
  afterAll(async () => model?.dispose());

  async function chainLogits(tokens: readonly number[]): Promise<Float32Array> {
    const sequence = model.createSequence();
    const { logits } = await sequence.forward({ tokens: Int32Array.from(tokens) });
    sequence.dispose();
    const vocab = model.info.vocabSize;
    return logits.slice((tokens.length - 1) * vocab, tokens.length * vocab);
  }

  function maxDiff(a: Float32Array, b: Float32Array): number {
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    return max;
  }

  it('tree commits over many steps (compaction included), then truncate and fork, match chain logits', async () => {
    const random = seededRandom(5);
    const vocab = model.info.vocabSize;
    const sequence = model.createSequence();
    const context = [1, 403, 407, 261];
    await sequence.forward({ tokens: Int32Array.from(context.slice(0, -1)) });
    sequence.commit([0, 1, 2]);
    for (let step = 0; step < 40; step++) {
      // [pending, a, b, c, d]: a and b children of pending, c child of a, d child of c.
      const draft = Array.from({ length: 4 }, () => 3 + Math.floor(random.next() * 500));
      const tokens = Int32Array.from([context[context.length - 1], ...draft]);
      const parents = Int32Array.from([-1, 0, 0, 1, 3]);
      const { logits } = await sequence.forward({ tokens, parents });
      const paths = [[0], [0, 1], [0, 2], [0, 1, 3], [0, 1, 3, 4]];
      const path = paths[Math.floor(random.next() * paths.length)];
      const last = path[path.length - 1];
      const expected = await chainLogits([...context, ...path.slice(1).map(row => tokens[row])]);
      expect(maxDiff(logits.slice(last * vocab, (last + 1) * vocab), expected)).toBeLessThan(1e-4);
      sequence.commit(path);
      for (const row of path.slice(1)) context.push(tokens[row]);
      context.push(3 + Math.floor(random.next() * 500)); // next pending token
    }
    expect(sequence.tokens).toEqual(context.slice(0, -1));
    const fork = sequence.fork();
    sequence.truncate(sequence.tokens.length - 7);
    // Committed now: context[0 .. length - 8); feed the next token of the context after them.
    const truncated = context.slice(0, context.length - 7);
    const after = await sequence.forward({
      tokens: Int32Array.from([truncated[truncated.length - 1]]),
    });
    expect(maxDiff(after.logits, await chainLogits(truncated))).toBeLessThan(1e-4);
    const forked = await fork.forward({ tokens: Int32Array.from([context[context.length - 1]]) });
    expect(maxDiff(forked.logits, await chainLogits(context))).toBeLessThan(1e-4);
    sequence.dispose();
    fork.dispose();
  });
});
