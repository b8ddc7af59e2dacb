import {
  createDecoder,
  InvalidArgumentError,
  mockModel,
  seededRandom,
  speculative,
  UnsupportedCapabilityError,
  type CausalLM,
  type Drafter,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { contextAwareDecoding, contextSpan } from './index.js';

const VOCAB = 12;

/** Logits that depend on the whole context (a polynomial hash), so any misalignment shows. */
function hashedLogits(context: readonly number[]): number[] {
  let hash = 17;
  for (const token of context) hash = (hash * 31 + token + 1) % 1_000_003;
  return Array.from({ length: VOCAB }, (_, i) => Math.sin(hash * 0.001 * (i + 1)) * 3);
}

/** The null prefix of the reference: `tokens` without the positions [start, end). */
const withoutSpan = (tokens: readonly number[], start: number, end: number) =>
  tokens.filter((_, i) => i < start || i >= end);

/** Reference CAD greedy decoding: recomputes both streams from scratch at every step. */
function referenceGreedy(
  prompt: number[],
  start: number,
  end: number,
  alpha: number,
  maxTokens: number,
  model = hashedLogits,
): number[] {
  const tokens = [...prompt];
  const out: number[] = [];
  for (let step = 0; step < maxTokens; step++) {
    const full = model(tokens);
    const none = model(withoutSpan(tokens, start, end));
    let best = 0;
    let bestValue = -Infinity;
    for (let i = 0; i < VOCAB; i++) {
      const value = (1 + alpha) * full[i] - alpha * none[i];
      if (value > bestValue) [best, bestValue] = [i, value];
    }
    tokens.push(best);
    out.push(best);
  }
  return out;
}

/** A drafter that proposes a random 6-node tree, so trees, path commits and truncates reach both streams. */
function randomTreeDrafter(seed: number): Drafter {
  const random = seededRandom(seed);
  return {
    name: 'random-tree',
    propose: () => ({
      tokens: Int32Array.from({ length: 6 }, () => Math.floor(random.next() * VOCAB)),
      parents: Int32Array.of(-1, -1, 0, 0, 2, 4),
    }),
  };
}

describe('contextSpan', () => {
  it.each([
    { tokens: [1, 5, 6, 7, 2], context: [5, 6], expected: { start: 1, end: 3 } },
    { tokens: [1, 5, 6, 5, 6], context: [5, 6], expected: { start: 1, end: 3 } }, // first occurrence
    { tokens: [1, 5, 6], context: [6, 7], expected: undefined },
    { tokens: [1, 5], context: [1, 5, 6], expected: undefined },
  ])('ids $context in $tokens → $expected', ({ tokens, context, expected }) => {
    expect(contextSpan(tokens, context)).toEqual(expected);
  });

  // Token i stands for the bytes of pieces[i]; 0 is a special token with no bytes.
  const pieces = ['', ' Once', ' upon', ' Lily', ' had', ' a', ' cat', '.', '\n', ' L', 'ily'];
  const tokenizer = {
    tokenBytes: (id: number) => (id === 0 ? undefined : new TextEncoder().encode(pieces[id])),
  };
  it.each([
    { text: 'Lily had a cat.', tokens: [0, 3, 4, 5, 6, 7, 8, 1], expected: { start: 1, end: 6 } }, // ▁Lily straddles
    { text: 'Lily had', tokens: [0, 1, 9, 10, 4, 5], expected: { start: 2, end: 5 } }, // other merges, same text
    { text: ' upon', tokens: [0, 1, 2, 3], expected: { start: 2, end: 3 } },
    { text: 'a ca', tokens: [0, 5, 6, 7], expected: { start: 1, end: 3 } }, // partial tokens at both ends
    { text: 'dog', tokens: [0, 5, 6], expected: undefined },
  ])('text "$text" → $expected', ({ text, tokens, expected }) => {
    expect(contextSpan(tokens, text, tokenizer)).toEqual(expected);
  });
});

describe('contextAwareDecoding', () => {
  it('computes (1 + α) · z(y | c, x) − α · z(y | x) on every row past the context, plain logits before it', async () => {
    const base = mockModel({ vocabSize: VOCAB, logits: hashedLogits });
    const alpha = 0.7;
    const model = contextAwareDecoding({ model: base, context: [7, 8, 9], alpha });
    const prompt = [1, 2, 7, 8, 9, 3, 4];
    const { logits } = await model.createSequence().forward({ tokens: Int32Array.from(prompt) });
    for (let row = 0; row < prompt.length; row++) {
      const prefix = prompt.slice(0, row + 1);
      const full = hashedLogits(prefix);
      const none = hashedLogits(withoutSpan(prefix, 2, 5));
      for (let i = 0; i < VOCAB; i++) {
        const expected = row < 4 ? full[i] : (1 + alpha) * full[i] - alpha * none[i];
        expect(logits[row * VOCAB + i], `row ${row}`).toBeCloseTo(expected, 5);
      }
    }
  });

  it('α = 0 is greedy decoding of the model; α > 0 equals the two-stream reference and differs from greedy', async () => {
    const base = mockModel({ vocabSize: VOCAB, logits: hashedLogits });
    const prompt = [1, 2, 7, 8, 9, 3, 4];
    const greedy = await createDecoder({ model: base }).generate(
      { tokens: prompt },
      { maxTokens: 30 },
    );
    const plain = await createDecoder({
      model: contextAwareDecoding({ model: base, context: [7, 8, 9], alpha: 0 }),
    }).generate({ tokens: prompt }, { maxTokens: 30 });
    expect(plain.tokens).toEqual(greedy.tokens);
    for (const alpha of [0.5, 1, 3]) {
      const cad = await createDecoder({
        model: contextAwareDecoding({ model: base, context: [7, 8, 9], alpha }),
      }).generate({ tokens: prompt }, { maxTokens: 30 });
      expect(cad.tokens, `α=${alpha}`).toEqual(referenceGreedy(prompt, 2, 5, alpha, 30));
    }
    expect(referenceGreedy(prompt, 2, 5, 3, 30)).not.toEqual(greedy.tokens);
  });

  it('handles a context that ends at the last prompt token (the pending token) and one-token prompts around it', async () => {
    const base = mockModel({ vocabSize: VOCAB, logits: hashedLogits });
    for (const [prompt, start, end] of [
      [[1, 2, 7, 8], 2, 4],
      [[1, 7, 8, 9, 10], 1, 5],
      [[7, 3], 0, 1], // context first: the null stream starts after it
    ] as [number[], number, number][]) {
      const model = contextAwareDecoding({
        model: base,
        context: prompt.slice(start, end),
        alpha: 1,
      });
      const cad = await createDecoder({ model }).generate({ tokens: prompt }, { maxTokens: 20 });
      expect(cad.tokens, `${prompt}`).toEqual(referenceGreedy(prompt, start, end, 1, 20));
    }
  });

  it('stays exact under a speculative strategy (draft trees, path commits, truncates) and through forks', async () => {
    const base = mockModel({ vocabSize: VOCAB, logits: hashedLogits });
    const prompt = [1, 2, 7, 8, 9, 3];
    const model = contextAwareDecoding({ model: base, context: [7, 8, 9], alpha: 1.5 });
    const reference = referenceGreedy(prompt, 2, 5, 1.5, 40);
    for (const seed of [1, 2, 3]) {
      const result = await createDecoder({ model })
        .use(speculative({ drafter: randomTreeDrafter(seed), budget: 6 }))
        .generate({ tokens: prompt }, { maxTokens: 40, temperature: 0 });
      expect(result.tokens, `seed ${seed}`).toEqual(reference);
    }
    // Fork after the prompt, go on in both, and cut one back into the context.
    const sequence = model.createSequence();
    await sequence.forward({ tokens: Int32Array.from(prompt.slice(0, -1)) });
    sequence.commit([0, 1, 2, 3, 4]);
    const fork = sequence.fork();
    const next = async (target: typeof sequence, pending: number) => {
      const { logits } = await target.forward({ tokens: Int32Array.of(pending) });
      target.commit([0]);
      return Array.from(logits);
    };
    const expected = (tokens: number[]) => {
      const full = hashedLogits(tokens);
      const none = hashedLogits(withoutSpan(tokens, 2, 5));
      return full.map((value, i) => 2.5 * value - 1.5 * none[i]);
    };
    expect(await next(sequence, 3)).toEqual(
      expected([1, 2, 7, 8, 9, 3]).map(value => expect.closeTo(value, 5)),
    );
    expect(await next(fork, 5)).toEqual(
      expected([1, 2, 7, 8, 9, 5]).map(value => expect.closeTo(value, 5)),
    );
    fork.truncate(3);
    expect(fork.tokens).toEqual([1, 2, 7]);
    await fork.forward({ tokens: Int32Array.of(8, 9) });
    fork.commit([0, 1]);
    expect(await next(fork, 6)).toEqual(
      expected([1, 2, 7, 8, 9, 6]).map(value => expect.closeTo(value, 5)),
    );
    expect(await next(sequence, 4)).toEqual(
      expected([1, 2, 7, 8, 9, 3, 4]).map(value => expect.closeTo(value, 5)),
    );
  });

  it('feeds the null stream only what it lacks: its prompt once, then one row per decode step', async () => {
    const base = mockModel({ vocabSize: VOCAB, logits: hashedLogits });
    const model = contextAwareDecoding({ model: base, context: [7, 8, 9] });
    await createDecoder({ model }).generate({ tokens: [1, 2, 7, 8, 9, 3, 4] }, { maxTokens: 5 });
    const [fullPrefill, nullPrefill, ...steps] = base.forwardCalls;
    expect(fullPrefill).toMatchObject({ prefixLength: 0, tokens: [1, 2, 7, 8, 9, 3] });
    expect(nullPrefill).toMatchObject({ prefixLength: 0, tokens: [1, 2, 3] });
    expect(steps.every(call => call.tokens.length === 1)).toBe(true);
    expect(steps.map(call => call.prefixLength).sort((a, b) => a - b)).toEqual([
      3, 4, 5, 6, 6, 7, 7, 8, 9, 10,
    ]);
  });

  it('streams through the normal decoder with a text context', async () => {
    const base = Object.assign(toyModel({ vocabSize: VOCAB, seed: 3 }), {
      tokenizer: {
        tokenBytes: (id: number) => new TextEncoder().encode(String.fromCharCode(97 + id)),
      },
    });
    const model = contextAwareDecoding({ model: base, context: 'cde', alpha: 1 }); // tokens 2, 3, 4
    const events: string[] = [];
    for await (const event of createDecoder({ model }).stream(
      { tokens: [0, 2, 3, 4, 1] },
      { maxTokens: 5 },
    ))
      events.push(event.type);
    expect(events).toEqual(['token', 'token', 'token', 'token', 'token', 'done']);
  });

  it('validates options and reports a context missing from the prompt', async () => {
    const base: CausalLM = toyModel({ vocabSize: 8 });
    expect(() => contextAwareDecoding({ model: base, context: [1], alpha: -1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => contextAwareDecoding({ model: base, context: [] })).toThrow(InvalidArgumentError);
    expect(() => contextAwareDecoding({ model: base, context: [9] })).toThrow(InvalidArgumentError);
    expect(() => contextAwareDecoding({ model: base, context: 'text' })).toThrow(/tokenizer/);
    const model = contextAwareDecoding({ model: base, context: [5, 6] });
    await expect(
      createDecoder({ model }).generate({ tokens: [1, 2, 3] }, { maxTokens: 3 }),
    ).rejects.toThrow(/does not occur in the prompt/);
    await expect(
      model.createSequence().forward({ tokens: Int32Array.of(1), hidden: true }),
    ).rejects.toThrow(UnsupportedCapabilityError);
  });
});
