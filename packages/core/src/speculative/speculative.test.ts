import { assert, describe, expect, it } from 'vitest';
import { createDecoder } from '../decoder/create-decoder.js';
import {
  AbortedError,
  ContextLengthError,
  InvalidArgumentError,
  UnsupportedCapabilityError,
} from '../errors.js';
import { noRepeatNgram, repetitionPenalty } from '../processors/index.js';
import { seededRandom } from '../sampling/index.js';
import type { Drafter } from '../strategy.js';
import { mockModel } from '../testing/mock-model.js';
import type { DecodeEvent, DraftTree } from '../types.js';
import { speculative } from './speculative.js';

const VOCAB = 10;
/** A deterministic model: the next token is a fixed function of the last two tokens. */
function logitsOf(context: readonly number[]): Float32Array {
  const a = context[context.length - 1] ?? 0;
  const b = context[context.length - 2] ?? 0;
  const logits = new Float32Array(VOCAB);
  for (let t = 0; t < VOCAB; t++) logits[t] = Math.sin(a * 7.1 + b * 3.3 + t * 1.7) * 2;
  return logits;
}

/** A drafter that guesses the greedy continuation of the unpenalized model, with mistakes, as a tree. */
function noisyOracle({ errorRate = 0.3, seed = 1, width = 2 } = {}): Drafter & { calls: number } {
  const random = seededRandom(seed);
  const drafter = {
    name: 'noisy-oracle',
    calls: 0,
    propose({ tokens, maxNodes }: { tokens: readonly number[]; maxNodes: number }): DraftTree {
      drafter.calls += 1;
      const out: number[] = [];
      const parents: number[] = [];
      let context = [...tokens];
      let parent = -1;
      while (out.length + width <= maxNodes) {
        const logits = logitsOf(context);
        const best = logits.indexOf(Math.max(...logits));
        const guess = random.next() < errorRate ? (best + 1) % VOCAB : best;
        const alternative = (guess + 3) % VOCAB;
        out.push(guess);
        parents.push(parent);
        const guessRow = out.length - 1;
        for (let w = 1; w < width; w++) {
          out.push(alternative);
          parents.push(parent);
        }
        parent = guessRow;
        context = [...context, guess];
      }
      return { tokens: Int32Array.from(out), parents: Int32Array.from(parents) };
    },
  };
  return drafter;
}

describe('speculative engine on a mock model', () => {
  const prompts = [[1], [2, 3, 4], [5, 5, 5, 5]];

  it.each([
    { title: 'tree verification', tree: true },
    { title: 'chain-only backend', tree: false },
  ])('greedy output is token-identical to autoregressive ($title)', async ({ tree }) => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf, tree });
    for (const prompt of prompts) {
      for (const maxTokens of [1, 2, 5, 17, 60]) {
        const reference = await createDecoder({ model }).generate(
          { tokens: prompt },
          { maxTokens },
        );
        const result = await createDecoder({ model })
          .use(speculative({ drafter: noisyOracle(), budget: 8 }))
          .generate({ tokens: prompt }, { maxTokens });
        expect(result.tokens).toEqual(reference.tokens);
        expect(result.reason).toBe('length');
      }
    }
  });

  it('stays exact with penalties and n-gram bans, whose states fork along each tree path', async () => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf });
    for (const prompt of prompts) {
      const decoder = createDecoder({
        model,
        processors: [repetitionPenalty(1.5), noRepeatNgram(2)],
      });
      const reference = await decoder.generate({ tokens: prompt }, { maxTokens: 40 });
      const result = await decoder
        .use(speculative({ drafter: noisyOracle({ errorRate: 0.1 }) }))
        .generate({ tokens: prompt }, { maxTokens: 40 });
      expect(result.tokens).toEqual(reference.tokens);
    }
  });

  it('accepts several tokens per forward and reports τ, acceptance and timings', async () => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf });
    const events: string[] = [];
    let done: Extract<DecodeEvent, { type: 'done' }> | undefined;
    for await (const event of createDecoder({ model })
      .use(speculative({ drafter: noisyOracle({ errorRate: 0 }), budget: 8, adaptive: false }))
      .stream({ tokens: [1] }, { maxTokens: 40 })) {
      events.push(event.type);
      if (event.type === 'done') done = event;
    }
    expect(events).toContain('draft');
    expect(events).toContain('verify');
    assert(done, 'the stream ends with a done event');
    expect(done.stats.meanAcceptedTokens).toBeGreaterThan(2);
    expect(done.stats.acceptanceRate).toBeGreaterThan(0.3);
    expect(done.stats.forwardPasses).toBeLessThan(40);
    expect(done.stats.draftMs).toBeGreaterThanOrEqual(0);
  });

  it('stops at EOS inside an accepted block', async () => {
    const reference = mockModel({ vocabSize: VOCAB, logits: logitsOf });
    const plain = await createDecoder({ model: reference }).generate(
      { tokens: [1] },
      { maxTokens: 30 },
    );
    const eos = plain.tokens[7];
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf, eosTokenIds: [eos] });
    const expected = await createDecoder({ model }).generate({ tokens: [1] }, { maxTokens: 30 });
    const result = await createDecoder({ model })
      .use(speculative({ drafter: noisyOracle({ errorRate: 0 }), budget: 12 }))
      .generate({ tokens: [1] }, { maxTokens: 30 });
    expect(result.reason).toBe('eos');
    expect(result.tokens).toEqual(expected.tokens);
    expect(result.tokens.at(-1)).toBe(eos);
  });

  it('never drafts past the context length', async () => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf, contextLength: 12 });
    const reference = await createDecoder({ model }).generate(
      { tokens: [1, 2] },
      { maxTokens: 50 },
    );
    const result = await createDecoder({ model })
      .use(speculative({ drafter: noisyOracle({ errorRate: 0 }), budget: 16 }))
      .generate({ tokens: [1, 2] }, { maxTokens: 50 });
    expect(result.tokens).toEqual(reference.tokens);
    expect(reference.tokens.length).toBe(10);
  });
});

describe('decoder errors', () => {
  const model = mockModel({ vocabSize: VOCAB, logits: logitsOf, contextLength: 16 });
  it('rejects bad options with InvalidArgumentError', async () => {
    const decoder = createDecoder({ model });
    await expect(decoder.generate({ tokens: [1] }, { maxTokens: 0 })).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
    await expect(
      decoder.generate({ tokens: [1] }, { temperature: 1, topP: 1.5 }),
    ).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(decoder.generate({ tokens: [] })).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
    await expect(decoder.generate({ tokens: [99] })).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
    await expect(decoder.generate('text without tokenizer')).rejects.toSatisfy(
      InvalidArgumentError.isInstance,
    );
  });
  it('rejects prompts longer than the context with ContextLengthError', async () => {
    await expect(
      createDecoder({ model }).generate({ tokens: Array.from({ length: 16 }, () => 1) }),
    ).rejects.toSatisfy(ContextLengthError.isInstance);
  });
  it('rejects with AbortedError when aborted mid-stream', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = async () => {
      for await (const event of createDecoder({
        model: mockModel({ vocabSize: VOCAB, logits: logitsOf }),
      }).stream({ tokens: [1] }, { maxTokens: 500, signal: controller.signal })) {
        if (event.type === 'token') {
          seen.push(event.tokenId);
          if (seen.length === 5) controller.abort();
        }
      }
    };
    await expect(run()).rejects.toSatisfy(AbortedError.isInstance);
    expect(seen.length).toBeLessThan(500);
  });
  it('validates speculative() options', () => {
    expect(() => speculative({ drafter: noisyOracle(), budget: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('speculative engine near the end of the context', () => {
  it('never sends more rows than the context holds, even with a large budget', async () => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf, contextLength: 20 });
    const reference = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 50 },
    );
    const result = await createDecoder({ model })
      .use(
        speculative({
          drafter: noisyOracle({ errorRate: 0, width: 4 }),
          budget: 64,
          adaptive: false,
        }),
      )
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 50 });
    expect(result.tokens).toEqual(reference.tokens);
    for (const call of model.forwardCalls)
      expect(call.prefixLength + call.tokens.length).toBeLessThanOrEqual(20);
  });
});

describe('seeded determinism', () => {
  const model = () => mockModel({ vocabSize: VOCAB, logits: logitsOf, tree: true });

  it.each([
    { title: 'adaptive sizing', adaptive: true },
    { title: 'every row verified', adaptive: false },
  ])(
    'drafts without q: the sampled output is the autoregressive output for the same seed ($title)',
    async ({ adaptive }) => {
      for (const seed of [1, 7, 42]) {
        for (const [index, prompt] of [[1], [2, 3, 4]].entries()) {
          const options = {
            maxTokens: 30,
            temperature: 0.8,
            topP: 0.95,
            repetitionPenalty: 1.1,
            seed,
          };
          const reference = await createDecoder({ model: model() }).generate(
            { tokens: prompt },
            options,
          );
          // Different drafts (error rates, tree widths) must not change a single token.
          for (const width of [1, 3]) {
            const drafter = noisyOracle({ errorRate: 0.4, seed: seed + index, width });
            const strategy = speculative({
              drafter,
              adaptive,
              budget: 9,
              costCurve: [1, 1, 1.05, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8],
            });
            const result = await createDecoder({ model: model() })
              .use(strategy)
              .generate({ tokens: prompt }, options);
            expect(result.tokens, `seed ${seed}, width ${width}`).toEqual(reference.tokens);
            expect(result.stats.acceptedDraftTokens ?? 0).toBeGreaterThan(0);
          }
        }
      }
    },
  );

  it('a pinned cost curve is validated', () => {
    const drafter = noisyOracle();
    for (const costCurve of [[1], [1, 1, 0.5], [1, Number.NaN], [1, 1, -2]]) {
      expect(() => speculative({ drafter, costCurve })).toThrow(InvalidArgumentError);
    }
    expect(() => speculative({ drafter, costCurve: [1, 1, 1.2, 1.5] })).not.toThrow();
  });

  it('the cost curve comes from the model’s cost profile when stored, and is stored once measured', async () => {
    const saved: Float64Array[] = [];
    let loads = 0;
    const stored = Float64Array.from([1, 1, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09]);
    const withProfile = (curve: Float64Array | undefined) =>
      Object.assign(model(), {
        costProfile: {
          load: () => ((loads += 1), curve),
          save: (costs: Float64Array) => void saved.push(costs),
        },
      });
    const options = { maxTokens: 20, temperature: 0 };
    await createDecoder({ model: withProfile(stored) })
      .use(speculative({ drafter: noisyOracle() }))
      .generate({ tokens: [1] }, options);
    expect(loads).toBe(1);
    expect(saved).toHaveLength(0);
    await createDecoder({ model: withProfile(undefined) })
      .use(speculative({ drafter: noisyOracle() }))
      .generate({ tokens: [1] }, options);
    expect(loads).toBe(2);
    expect(saved).toHaveLength(1);
    expect(saved[0][1]).toBe(1);
  });
});

describe('extra rows appended by the drafter (Drafter.extend)', () => {
  /**
   * noisyOracle plus one extra row after the pending token and after every tree node (token = node + 1),
   * and a chain of two after the pending token; records what the engine hands back.
   */
  function extending(extend?: Drafter['extend']) {
    const base = noisyOracle({ errorRate: 0.3, width: 2 });
    const seen: {
      tokens: number[];
      extra: number[];
      logits: Float32Array;
      forward: { tokens: number[]; parents: number[] };
    }[] = [];
    let lastExtra: { tokens: Int32Array; parents: Int32Array } | undefined;
    let lastTree: DraftTree | undefined;
    const drafter: Drafter = {
      name: 'extending',
      propose: context => base.propose(context),
      extend:
        extend ??
        (({ tree, tokens }) => {
          lastTree = tree;
          const ids = [(tokens[tokens.length - 1] + 1) % VOCAB, 4];
          const parents = [0, tree.tokens.length + 1];
          tree.tokens.forEach((token, row) => {
            ids.push((token + 1) % VOCAB);
            parents.push(row + 1);
          });
          lastExtra = { tokens: Int32Array.from(ids), parents: Int32Array.from(parents) };
          return lastExtra;
        }),
      observe(result) {
        if (!result.extraLogits || !lastExtra || !lastTree) return;
        expect(result.logits.length).toBe((result.tree.tokens.length + 1) * VOCAB);
        expect(result.extraLogits.length).toBe(lastExtra.tokens.length * VOCAB);
        // Extra row 1 continues extra row 0 after the pending token (the last of result.tokens).
        seen.push({
          tokens: [...result.tokens],
          extra: [...lastExtra.tokens.subarray(0, 2)],
          logits: result.extraLogits.slice(VOCAB, 2 * VOCAB),
          forward: {
            tokens: [
              result.tokens[result.tokens.length - 1],
              ...lastTree.tokens,
              ...lastExtra.tokens,
            ],
            parents: [
              -1,
              ...Array.from(lastTree.parents, parent => parent + 1),
              ...lastExtra.parents,
            ],
          },
        });
      },
    };
    return { drafter, seen };
  }

  it('verifies exactly as without them, hands their logits back and never commits them', async () => {
    for (const prompt of [[1], [2, 3, 4]]) {
      const model = mockModel({ vocabSize: VOCAB, logits: logitsOf });
      const reference = await createDecoder({ model }).generate(
        { tokens: prompt },
        { maxTokens: 30 },
      );
      const { drafter, seen } = extending();
      const before = model.forwardCalls.length;
      const result = await createDecoder({ model })
        .use(speculative({ drafter, budget: 6, adaptive: false }))
        .generate({ tokens: prompt }, { maxTokens: 30 });
      expect(result.tokens).toEqual(reference.tokens);
      expect(result.stats.acceptedDraftTokens ?? 0).toBeGreaterThan(0);
      expect(seen.length).toBeGreaterThan(3);
      for (const { tokens, extra, logits } of seen)
        expect(Array.from(logits)).toEqual(Array.from(logitsOf([...tokens, ...extra])));
      // One forward per step carries the tree and the extra rows; the next starts after the accepted path.
      const forwards = model.forwardCalls.map(({ tokens, parents }) => ({ tokens, parents }));
      for (const { forward } of seen) expect(forwards).toContainEqual(forward);
      expect(model.forwardCalls.length - before).toBe(result.stats.forwardPasses);
    }
  });

  it('stays exact when sampling, for a fixed seed', async () => {
    const options = { maxTokens: 30, temperature: 0.8, topP: 0.95, seed: 3 };
    const reference = await createDecoder({
      model: mockModel({ vocabSize: VOCAB, logits: logitsOf }),
    }).generate({ tokens: [2, 3] }, options);
    const result = await createDecoder({ model: mockModel({ vocabSize: VOCAB, logits: logitsOf }) })
      .use(speculative({ drafter: extending().drafter, budget: 6 }))
      .generate({ tokens: [2, 3] }, options);
    expect(result.tokens).toEqual(reference.tokens);
  });

  it.each([
    { title: 'a parent after the row', extra: { tokens: [1], parents: [99] }, error: /precede/ },
    {
      title: 'a token outside the vocabulary',
      extra: { tokens: [VOCAB], parents: [0] },
      error: /vocabulary/,
    },
    { title: 'lengths that differ', extra: { tokens: [1, 2], parents: [0] }, error: /differ/ },
  ])('rejects $title with InvalidArgumentError', async ({ extra, error }) => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf });
    const { drafter } = extending(() => ({
      tokens: Int32Array.from(extra.tokens),
      parents: Int32Array.from(extra.parents),
    }));
    const run = createDecoder({ model })
      .use(speculative({ drafter, budget: 4, adaptive: false }))
      .generate({ tokens: [1] }, { maxTokens: 5 });
    await expect(run).rejects.toThrow(InvalidArgumentError);
    await expect(
      createDecoder({ model })
        .use(speculative({ drafter, budget: 4, adaptive: false }))
        .generate({ tokens: [1] }, { maxTokens: 5 }),
    ).rejects.toThrow(error);
  });

  it('rejects rows past the context and embeddings on a model without input embeddings', async () => {
    const model = mockModel({ vocabSize: VOCAB, logits: logitsOf, contextLength: 8 });
    const deep = extending(({ tree }) => ({
      tokens: new Int32Array(8).fill(1),
      parents: Int32Array.from({ length: 8 }, (_, j) => (j === 0 ? 0 : tree.tokens.length + j)),
    })).drafter;
    await expect(
      createDecoder({ model })
        .use(speculative({ drafter: deep, budget: 2, adaptive: false }))
        .generate({ tokens: [1, 2] }, { maxTokens: 4 }),
    ).rejects.toThrow(/do not fit|past the context/);
    const embedded = extending(() => ({
      tokens: Int32Array.from([1]),
      parents: Int32Array.from([0]),
      embeddings: new Float32Array(1),
    })).drafter;
    await expect(
      createDecoder({ model })
        .use(speculative({ drafter: embedded, budget: 2, adaptive: false }))
        .generate({ tokens: [1, 2] }, { maxTokens: 4 }),
    ).rejects.toThrow(UnsupportedCapabilityError);
  });
});
