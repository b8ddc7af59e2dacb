import { InvalidArgumentError, createDecoder, mockModel, speculative } from '@decodekit/core';
import type { CausalLM, DraftContext, Drafter, VerifyResult } from '@decodekit/core';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { describe, expect, it } from 'vitest';
import { copyspec } from './copyspec.js';

const noModel = undefined as unknown as CausalLM;

function draftContext(tokens: number[], overrides: Partial<DraftContext> = {}): DraftContext {
  return {
    tokens,
    promptLength: tokens.length,
    maxNodes: 16,
    remaining: 100,
    treeCapable: true,
    greedy: true,
    ...overrides,
  };
}

/** Next token = a fixed pseudo-random function of the last `order` tokens: greedy output loops. */
function markovModel({ vocabSize = 12, order = 2, seed = 1, eosTokenIds = [] as number[] } = {}) {
  return mockModel({
    vocabSize,
    eosTokenIds,
    logits: context => {
      const logits = new Float32Array(vocabSize);
      for (let token = 0; token < vocabSize; token++) {
        let hash = 0x9e3779b9 ^ seed;
        for (const value of [...context.slice(-order), token]) {
          hash = Math.imul(hash ^ value, 0x85ebca6b);
          hash ^= hash >>> 13;
        }
        logits[token] = 4 * ((hash >>> 0) / 4294967296);
      }
      return logits;
    },
  });
}

/** A fallback that records what it was asked and always drafts `[token]`. */
function recordingDrafter(token: number) {
  const calls = { begin: 0, propose: 0, extend: 0, observe: 0, end: 0 };
  const drafter: Drafter = {
    name: 'recording',
    begin: () => void calls.begin++,
    propose: () => (calls.propose++, { tokens: Int32Array.of(token), parents: Int32Array.of(-1) }),
    extend: () => void calls.extend++,
    observe: () => void calls.observe++,
    end: () => void calls.end++,
  };
  return { drafter, calls };
}

describe('copyspec drafting', () => {
  it('copies up to numberCopy tokens after the first occurrence of the last γ tokens (the official rule)', async () => {
    const drafter = copyspec({ gamma: 3, numberCopy: 3 });
    const tokens = [1, 2, 3, 7, 8, 9, 5, 1, 2, 3, 4, 4, 1, 2, 3];
    await drafter.begin?.({ tokens, model: noModel } as never);
    const tree = await drafter.propose(draftContext(tokens));
    expect([...(tree?.tokens ?? [])]).toEqual([7, 8, 9]);
    expect([...(tree?.parents ?? [])]).toEqual([-1, 0, 1]);
  });

  it("prefer: 'latest' copies from the most recent occurrence", async () => {
    const drafter = copyspec({ gamma: 3, numberCopy: 2, prefer: 'latest' });
    const tokens = [1, 2, 3, 7, 8, 9, 5, 1, 2, 3, 4, 4, 1, 2, 3];
    await drafter.begin?.({ tokens, model: noModel } as never);
    expect([...((await drafter.propose(draftContext(tokens)))?.tokens ?? [])]).toEqual([4, 4]);
  });

  it('respects maxNodes and remaining, and drafts nothing without a match or fallback', async () => {
    const tokens = [4, 5, 6, 7, 8, 9, 4, 5, 6];
    const drafter = copyspec();
    await drafter.begin?.({ tokens, model: noModel } as never);
    expect([
      ...((await drafter.propose(draftContext(tokens, { maxNodes: 2 })))?.tokens ?? []),
    ]).toEqual([7, 8]);
    expect([
      ...((await drafter.propose(draftContext(tokens, { remaining: 1 })))?.tokens ?? []),
    ]).toEqual([7]);
    expect(await drafter.propose(draftContext([...tokens, 1]))).toBeUndefined();
    expect(drafter.stats).toEqual({ steps: 3, copied: 2, fallback: 0 });
  });

  it('hands steps without a match to the fallback and forwards begin/extend/observe/end to it', async () => {
    const { drafter: fallback, calls } = recordingDrafter(5);
    const drafter = copyspec({ fallback });
    expect(drafter.name).toBe('copyspec+recording');
    const model = markovModel({ seed: 3 });
    const result = await createDecoder({ model })
      .use(speculative({ drafter, adaptive: false }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 40, temperature: 0 });
    const plain = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 40, temperature: 0 },
    );
    expect(result.tokens).toEqual(plain.tokens);
    expect(calls.begin).toBe(1);
    expect(calls.end).toBe(1);
    expect(calls.propose).toBe(drafter.stats.fallback);
    expect(calls.observe).toBe(drafter.stats.steps); // copied steps too, so a learning fallback stays warm
    // Every verification forward offers the fallback its extra rows (fused PPD drafts from them).
    expect(calls.extend).toBe(drafter.stats.steps);
    expect(drafter.stats.copied).toBeGreaterThan(0);
  });

  it("history: 'session' copies from an earlier generation that the new prompt does not contain", async () => {
    // The model continues 10 → 11 → ... deterministically; a session drafter remembers it.
    const vocabSize = 40;
    const model = mockModel({
      vocabSize,
      logits: context => {
        const logits = new Float32Array(vocabSize);
        logits[
          (context[context.length - 1] * 7 + context[context.length - 2] * 3 + 1) % vocabSize
        ] = 5;
        return logits;
      },
    });
    const session = copyspec({ history: 'session' });
    const fresh = copyspec();
    const options = { maxTokens: 30, temperature: 0 };
    const first = await createDecoder({ model })
      .use(speculative({ drafter: session, adaptive: false }))
      .generate({ tokens: [3, 4] }, options);
    await createDecoder({ model })
      .use(speculative({ drafter: fresh, adaptive: false }))
      .generate({ tokens: [3, 4] }, options);
    // Second turn: an unrelated prefix, then the start of the first answer.
    const prompt = [20, 21, ...first.tokens.slice(0, 3)];
    const a = await createDecoder({ model })
      .use(speculative({ drafter: session, adaptive: false }))
      .generate({ tokens: prompt }, options);
    const b = await createDecoder({ model })
      .use(speculative({ drafter: fresh, adaptive: false }))
      .generate({ tokens: prompt }, options);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.stats.forwardPasses).toBeLessThan(b.stats.forwardPasses);
    expect(session.historyLength()).toBeGreaterThan(fresh.historyLength());
    session.reset();
    expect(session.historyLength()).toBe(0);
  });

  it('continues (does not duplicate) the session when the new prompt extends the previous conversation', async () => {
    const drafter = copyspec({ history: 'session' });
    await drafter.begin?.({ tokens: [1, 2, 3], model: noModel } as never);
    await drafter.propose(draftContext([1, 2, 3, 4, 5]));
    await drafter.begin?.({ tokens: [1, 2, 3, 4, 5, 6, 7], model: noModel } as never);
    expect(drafter.historyLength()).toBe(7);
    await drafter.begin?.({ tokens: [9, 9], model: noModel } as never);
    expect(drafter.historyLength()).toBe(9);
  });

  it('remember() adds a document the next generation can copy from', async () => {
    const drafter = copyspec({ history: 'session', gamma: 2 });
    drafter.remember([5, 6, 7, 8, 9]);
    await drafter.begin?.({ tokens: [1, 5, 6], model: noModel } as never);
    expect([...((await drafter.propose(draftContext([1, 5, 6])))?.tokens ?? [])]).toEqual([
      7, 8, 9,
    ]);
  });

  it.each([
    { options: { gamma: 0 }, argument: 'gamma' },
    { options: { numberCopy: 2.5 }, argument: 'numberCopy' },
    { options: { prefer: 'first' as never }, argument: 'prefer' },
    { options: { history: 'forever' as never }, argument: 'history' },
    { options: { fallback: {} as never }, argument: 'fallback' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      copyspec(options);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('copyspec through speculative() (O-greedy)', () => {
  it.each([1, 2, 3, 4])(
    'is token-identical to greedy decoding on markov model seed %i, with and without a fallback',
    async seed => {
      const model = markovModel({ seed });
      const options = { maxTokens: 60, temperature: 0 };
      const plain = await createDecoder({ model }).generate({ tokens: [1, 2, 3, 4] }, options);
      for (const drafter of [
        copyspec(),
        copyspec({ fallback: tokenRecycling(), gamma: 2 }),
        copyspec({ prefer: 'latest' }),
      ]) {
        const fast = await createDecoder({ model })
          .use(speculative({ drafter }))
          .generate({ tokens: [1, 2, 3, 4] }, options);
        expect(fast.tokens).toEqual(plain.tokens);
      }
    },
  );

  it('gets τ > 2 once a finite-state model loops', async () => {
    const model = markovModel({ seed: 11, order: 2, vocabSize: 10 });
    const drafter = copyspec();
    // adaptive: false — the engine's timing-based depth cut would make τ depend on the machine's load.
    const result = await createDecoder({ model })
      .use(speculative({ drafter, adaptive: false }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 120, temperature: 0 });
    expect(result.stats.meanAcceptedTokens).toBeGreaterThan(2);
  });

  it('observes every verification even when the fallback is never needed', async () => {
    const seen: VerifyResult[] = [];
    const fallback: Drafter = {
      name: 'never',
      propose: () => undefined,
      observe: result => void seen.push(result),
    };
    const drafter = copyspec({ fallback });
    const model = markovModel({ seed: 5 });
    await createDecoder({ model })
      .use(speculative({ drafter }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 30, temperature: 0 });
    expect(seen.length).toBe(drafter.stats.steps);
  });
});
