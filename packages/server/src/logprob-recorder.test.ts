import {
  createDecoder,
  mockModel,
  speculative,
  type Drafter,
  type Tokenizer,
} from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import { logprobRecorder } from './index.js';

// A 5-token model whose distribution depends on the last token; byte tokens 'a'..'e'.
const logitsOf = (context: readonly number[]) => {
  const last = context.at(-1) ?? 0;
  return Array.from(
    { length: 5 },
    (_, id) => (id === (last + 1) % 5 ? 2 : id === (last + 2) % 5 ? 1 : 0) + id * 0.01,
  );
};
const tokenizer = {
  vocabSize: 5,
  eosTokenIds: [],
  encode: () => [],
  decode: (ids: readonly number[]) => ids.map(id => 'abcde'[id]).join(''),
  idToToken: (id: number) => 'abcde'[id],
  tokenBytes: (id: number) => new TextEncoder().encode('abcde'[id]),
  applyChatTemplate: () => '',
} satisfies Tokenizer;

function expected(context: readonly number[], token: number): number {
  const row = logitsOf(context);
  const logZ = Math.log(row.reduce((sum, value) => sum + Math.exp(value), 0));
  return row[token] - logZ;
}

/** Drafts three tokens that alternate between right and wrong guesses, so some rows are rejected. */
const guessing: Drafter = {
  name: 'guessing',
  propose: context => {
    const last = context.tokens.at(-1) ?? 0;
    return {
      tokens: Int32Array.of((last + 1) % 5, (last + 3) % 5, 0),
      parents: Int32Array.of(-1, 0, 1),
    };
  },
};

describe('logprobRecorder', () => {
  it.each([
    ['autoregressive', undefined],
    ['speculative', speculative({ drafter: guessing })],
  ])('reads the model log-probability of each generated token (%s)', async (_name, strategy) => {
    const model = mockModel({ vocabSize: 5, logits: logitsOf });
    const recorder = logprobRecorder(tokenizer, 2);
    const decoder = createDecoder({ model, tokenizer, processors: [recorder.processor], strategy });
    const context = [3];
    let checked = 0;
    for await (const event of decoder.stream({ tokens: [3] }, { maxTokens: 12 })) {
      if (event.type !== 'token') continue;
      const entry = recorder.take(event.tokenId);
      assert(entry, `no logprobs recorded for token ${event.tokenId}`);
      expect(entry.tokenId).toBe(event.tokenId);
      expect(entry.logprob).toBeCloseTo(expected(context, event.tokenId), 5);
      expect(entry.top.map(top => top.tokenId)).toEqual([
        (context[context.length - 1] + 1) % 5,
        (context[context.length - 1] + 2) % 5,
      ]);
      expect(entry.top[0].token).toBe('abcde'[entry.top[0].tokenId]);
      context.push(event.tokenId);
      checked++;
    }
    expect(checked).toBe(12);
  });
});
