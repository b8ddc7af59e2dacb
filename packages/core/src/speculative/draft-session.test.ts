import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnsupportedCapabilityError, VocabMismatchError } from '../errors.js';
import { argmax } from '../processors/index.js';
import { sampleFromProbabilities, seededRandom } from '../sampling/index.js';
import { mockModel } from '../testing/mock-model.js';
import type { CausalLM, RandomSource } from '../types.js';
import {
  DraftSampler,
  DraftSession,
  RowDistributions,
  commonPrefixLength,
  draftDistribution,
  sampleDraftToken,
  sampledTree,
} from './draft-session.js';

const VOCAB = 6;
/** Next-token logits as a fixed function of the last two tokens; token 5 is end-of-sequence. */
function logitsOf(context: readonly number[]): Float32Array {
  const a = context[context.length - 1] ?? 0;
  const b = context[context.length - 2] ?? 0;
  return Float32Array.from({ length: VOCAB }, (_, t) => Math.sin(a * 3.1 + b * 1.3 + t * 2.2) * 2);
}
const draftModel = (options: { contextLength?: number; vocabSize?: number } = {}) =>
  mockModel({ vocabSize: VOCAB, logits: logitsOf, ...options });
const target = (vocabSize = VOCAB) =>
  mockModel({ vocabSize, logits: () => new Float32Array(vocabSize), eosTokenIds: [5] });

/** A RandomSource that counts its draws. */
function counting(seed: number): RandomSource & { draws: number } {
  const random = seededRandom(seed);
  const counted = {
    draws: 0,
    next() {
      counted.draws++;
      return random.next();
    },
    clone: () => random.clone(),
  };
  return counted;
}

describe('sampleDraftToken', () => {
  const logits = Float32Array.of(0.5, 2, -1, 1.5);

  it('temperature 0: the argmax, the one-hot written, no random number drawn', () => {
    const random = counting(1);
    const out = new Float32Array(4);
    expect(sampleDraftToken(logits, 0, random, out)).toBe(1);
    expect([...out]).toEqual([0, 1, 0, 0]);
    expect(random.draws).toBe(0);
  });

  it('temperature > 0: samples softmax(logits / T) written into the distribution, one draw', () => {
    const random = counting(7);
    const out = new Float32Array(4);
    const token = sampleDraftToken(logits, 0.5, random, out);
    expect(random.draws).toBe(1);
    // softmax(logits / 0.5), by hand: exp(2 · (l − 2)) / Σ
    const weights = [0.5, 2, -1, 1.5].map(l => Math.exp(2 * (l - 2)));
    const total = weights.reduce((a, b) => a + b, 0);
    expect([...out]).toEqual(weights.map(w => expect.closeTo(w / total, 6)));
    expect(token).toBe(sampleFromProbabilities(out, seededRandom(7)));
  });
});

describe('commonPrefixLength', () => {
  it.each([
    { committed: [1, 2, 3], context: [1, 2, 4, 5], from: 0, limit: 3, expected: 2 },
    { committed: [1, 2, 3], context: [1, 2, 3, 4], from: 0, limit: 3, expected: 3 },
    { committed: [1, 2, 3], context: [1, 2, 3], from: 0, limit: 2, expected: 2 },
    // The first `from` tokens are trusted, not compared.
    { committed: [9, 2, 3], context: [1, 2, 3, 4], from: 1, limit: 3, expected: 3 },
    { committed: [], context: [1], from: 0, limit: 0, expected: 0 },
  ])(
    '$committed vs $context from $from → $expected',
    ({ committed, context, from, limit, expected }) => {
      expect(commonPrefixLength(committed, context, from, limit)).toBe(expected);
    },
  );
});

describe('DraftSampler', () => {
  it.each([
    { option: undefined, decoder: 0, temperature: 1, deterministic: true },
    { option: undefined, decoder: 0.7, temperature: 0.7, deterministic: false },
    { option: 0.5, decoder: 0, temperature: 0.5, deterministic: false },
    { option: 0, decoder: 0.9, temperature: 0, deterministic: false },
  ])(
    'option $option, decoder $decoder → temperature $temperature',
    ({ option, decoder, temperature, deterministic }) => {
      const sampler = new DraftSampler({ temperature: option });
      sampler.begin({ model: target(), temperature: decoder, random: seededRandom(3) });
      expect(sampler.temperature).toBe(temperature);
      expect(sampler.deterministic({ greedy: decoder === 0 })).toBe(deterministic);
      expect(sampler.temperatureFor({ greedy: decoder === 0 })).toBe(
        deterministic ? 0 : temperature,
      );
      expect([...sampler.eos]).toEqual([5]);
      expect(sampler.targetContext).toBe(1024);
    },
  );

  it('uses the engine stream when given, else its own seeded one', () => {
    const own = new DraftSampler({ seed: 42 });
    expect(own.random.next()).toBe(seededRandom(42).next());
    const engine = seededRandom(9);
    own.begin({ model: target(), random: engine });
    expect(own.random).toBe(engine);
  });
});

describe('DraftSession', () => {
  it('syncs to the longest common prefix and feeds only the missing tokens', async () => {
    const model = draftModel();
    const session = new DraftSession(model);
    const first = await session.contextLogits([1, 2, 3]);
    expect([...first]).toEqual([...logitsOf([1, 2, 3])]);
    await session.contextLogits([1, 2, 4, 0]);
    // Without a generation (no begin) every sync compares the whole prefix.
    await session.contextLogits([1, 2, 4, 0, 3]);
    expect(
      model.forwardCalls.map(({ prefixLength, tokens }) => ({ prefixLength, tokens })),
    ).toEqual([
      { prefixLength: 0, tokens: [1, 2, 3] },
      { prefixLength: 2, tokens: [4, 0] },
      { prefixLength: 4, tokens: [3] },
    ]);
    expect(session.forwards).toBe(3);
  });

  it('trusts the prefix synced last while one generation runs, and only then', async () => {
    // A context that breaks "the context only grows" shows whether the prefix was compared.
    const run = async (
      options: { trustPrefix?: boolean },
      generations: number,
    ): Promise<{ prefixLength: number; tokens: number[] }> => {
      const model = draftModel();
      const session = new DraftSession(model, options);
      for (let i = 0; i < generations; i++) session.begin({ model: target() });
      await session.contextLogits([1, 2, 3, 4]);
      await session.contextLogits([9, 2, 3, 4, 0]);
      const last = model.forwardCalls[model.forwardCalls.length - 1];
      return { prefixLength: last.prefixLength, tokens: last.tokens };
    };
    expect(await run({}, 1)).toEqual({ prefixLength: 4, tokens: [0] });
    expect(await run({ trustPrefix: false }, 1)).toEqual({
      prefixLength: 0,
      tokens: [9, 2, 3, 4, 0],
    });
    expect(await run({}, 2)).toEqual({ prefixLength: 0, tokens: [9, 2, 3, 4, 0] });
  });

  it('drafts a greedy chain: one forward per token, the argmax of the draft model, no q', async () => {
    const model = draftModel();
    const session = new DraftSession(model, { temperature: 0 });
    session.begin({ model: target() });
    const tree = await session.draftChain([1, 2], { count: 3 });
    const expected: number[] = [];
    const context = [1, 2];
    while (expected.length < 3) {
      const token = argmax(logitsOf(context));
      expected.push(token);
      context.push(token);
      if (token === 5) break;
    }
    expect([...tree.tokens]).toEqual(expected);
    expect([...tree.parents]).toEqual(expected.map((_, i) => i - 1));
    expect(tree.q).toBeUndefined();
    expect(tree.qDistributions).toBeUndefined();
    expect(session.forwards).toBe(expected.length);
    // The drafts stay committed; the next sync keeps what the context shares with them.
    await session.draftChain([1, 2, expected[0], 4], { count: 1 });
    const last = model.forwardCalls[model.forwardCalls.length - 1];
    expect(last).toMatchObject({ prefixLength: 3, tokens: [4] });
  });

  it('samples a chain with its draft distributions; the same stream gives the same chain', async () => {
    const draw = async (seed: number) => {
      const session = new DraftSession(draftModel(), { temperature: 0.8 });
      session.begin({ model: target(), random: seededRandom(seed) });
      return session.draftChain([3], { count: 4 });
    };
    const tree = await draw(5);
    const context = [3];
    tree.tokens.forEach((token, row) => {
      const q = tree.qDistributions?.subarray(row * VOCAB, (row + 1) * VOCAB);
      expect([...(q ?? [])]).toEqual([
        ...draftDistribution(logitsOf(context), 0.8, new Float32Array(VOCAB)),
      ]);
      expect(tree.q?.[row]).toBe(q?.[token]);
      context.push(token);
    });
    const again = await draw(5);
    expect([...again.tokens]).toEqual([...tree.tokens]);
    expect([...(again.q ?? [])]).toEqual([...(tree.q ?? [])]);
  });

  it('commit: false scores the chain by tree forwards, keeps only the context, and applies transform', async () => {
    const model = draftModel();
    const session = new DraftSession(model, { temperature: 0 });
    session.begin({ model: target() });
    const previous: number[] = [];
    const tree = await session.draftChain([1, 2], {
      count: 3,
      commit: false,
      probabilities: true,
      // Ban token 0: the chain follows the transformed logits.
      transform(raw, row) {
        previous.push(row.previous);
        return raw.map((value, token) => (token === 0 ? -Infinity : value));
      },
    });
    const context = [1, 2];
    const expected: number[] = [];
    while (expected.length < 3) {
      const logits = logitsOf(context).map((value, token) => (token === 0 ? -Infinity : value));
      const token = argmax(logits);
      expected.push(token);
      context.push(token);
      if (token === 5) break;
    }
    expect([...tree.tokens]).toEqual(expected);
    expect(previous).toEqual([2, ...expected.slice(0, -1)]);
    // One-hot q at temperature 0 when probabilities are asked for.
    expect([...(tree.q ?? [])]).toEqual(expected.map(() => 1));
    expect(
      model.forwardCalls.map(({ prefixLength, tokens }) => ({ prefixLength, tokens })),
    ).toEqual([
      { prefixLength: 0, tokens: [1, 2] },
      ...expected.slice(1).map((_, i) => ({ prefixLength: 2, tokens: expected.slice(0, i + 1) })),
    ]);
  });

  it('stops after an end-of-sequence token and when afterFeed says so', async () => {
    // The draft model always prefers token 5, the target's end-of-sequence token.
    const eosFirst = mockModel({
      vocabSize: VOCAB,
      logits: () => Float32Array.of(0, 0, 0, 0, 0, 9),
    });
    const session = new DraftSession(eosFirst, { temperature: 0 });
    session.begin({ model: target() });
    expect([...(await session.draftChain([1], { count: 4 })).tokens]).toEqual([5]);

    const plain = new DraftSession(draftModel(), { temperature: 0 });
    plain.begin({ model: target(VOCAB) });
    const seen: number[] = [];
    const tree = await plain.draftChain([1, 2], {
      count: 6,
      afterFeed: ({ index, probability }) => {
        seen.push(index);
        expect(probability).toBe(1);
        return index < 1;
      },
    });
    expect(seen).toEqual([0, 1]);
    expect(tree.tokens).toHaveLength(2);
  });

  it('begin checks the vocabulary with the drafter hint; the last end releases the sequence', async () => {
    const session = new DraftSession(draftModel(), { mismatchHint: 'use the same tokenizer.' });
    const failure = (() => {
      try {
        session.begin({ model: target(8) });
      } catch (error) {
        return error;
      }
    })();
    expect(VocabMismatchError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/6 tokens.*has 8.*use the same tokenizer\./);

    const model = draftModel();
    const shared = new DraftSession(model);
    shared.begin({ model: target() });
    shared.begin({ model: target() });
    await shared.contextLogits([1, 2, 3]);
    shared.end();
    await shared.contextLogits([1, 2, 3, 4]);
    shared.end();
    await shared.contextLogits([1, 2, 3, 4, 0]);
    expect(model.forwardCalls.map(call => call.prefixLength)).toEqual([0, 3, 0]);
  });

  it('swapModel replaces the draft between generations only, for a draft of the same shape', async () => {
    const first = draftModel();
    const second = draftModel();
    const session = new DraftSession(first);
    session.begin({ model: target() });
    await session.contextLogits([1, 2, 3]);
    expect(() => session.swapModel(second)).toThrow(InvalidArgumentError);
    session.end();
    expect(() => session.swapModel(draftModel({ vocabSize: 8 }))).toThrow(/vocabulary 8/);
    expect(() => session.swapModel(draftModel({ contextLength: 16 }))).toThrow(
      InvalidArgumentError,
    );
    expect(session.swapModel(second)).toBe(first);
    expect(session.model).toBe(second);
    session.begin({ model: target() });
    await session.contextLogits([1, 2, 3, 4]);
    session.end();
    // The new draft starts from an empty KV state; the old one is not touched again.
    expect(second.forwardCalls.map(call => call.prefixLength)).toEqual([0]);
    expect(first.forwardCalls).toHaveLength(1);
  });

  it('runs inTurn work one at a time, in order, past failures', async () => {
    const session = new DraftSession(draftModel());
    const log: string[] = [];
    const work =
      (name: string, fail = false) =>
      async () => {
        log.push(`${name}:start`);
        await new Promise(resolve => setTimeout(resolve, 1));
        log.push(`${name}:end`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      session.inTurn(work('a')),
      session.inTurn(work('b', true)),
      session.inTurn(work('c')),
    ]);
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(results.map(result => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('still takes the skipped layers as its second argument', async () => {
    const calls: (readonly number[] | undefined)[] = [];
    const model = draftModel();
    const spy: CausalLM = {
      ...model,
      createSequence() {
        const sequence = model.createSequence();
        return {
          ...sequence,
          get tokens() {
            return sequence.tokens;
          },
          forward(input, options) {
            calls.push(input.skipLayers);
            return sequence.forward(input, options);
          },
          commit: rows => sequence.commit(rows),
        };
      },
    };
    await new DraftSession(spy, [0]).contextLogits([1]);
    await new DraftSession(spy, { skipLayers: [0] }).contextLogits([1]);
    expect(calls).toEqual([[0], [0]]);
  });
});

describe('DraftSession distributions', () => {
  it('scores the context and a tree into RowDistributions with one forward each', async () => {
    const model = draftModel();
    const session = new DraftSession(model);
    const rows = new RowDistributions().set(-1, await session.contextDistribution([1, 2], 0.5));
    // Two children of the context, and a grandchild under the second.
    const tree = { tokens: [3, 4, 0], parents: [-1, -1, 1] };
    await session.treeDistributions(rows, tree, [1, 2], 0.5);
    const expected = (context: number[]) => [
      ...draftDistribution(logitsOf(context), 0.5, new Float32Array(VOCAB)),
    ];
    expect([...rows.at(-1)]).toEqual(expected([1, 2]));
    expect([...rows.at(1)]).toEqual(expected([1, 2, 4]));
    expect([...rows.at(2)]).toEqual(expected([1, 2, 4, 0]));
    expect(() => rows.at(0)).toThrow(/row 0 has no distribution/);
    expect(model.forwardCalls.map(call => call.tokens)).toEqual([
      [1, 2],
      [3, 4, 0],
    ]);
    expect(model.forwardCalls[1].parents).toEqual([-1, -1, 1]);
  });
});

describe('sampledTree', () => {
  it('takes q of each row from the distribution it was drawn from and stacks them', () => {
    const root = Float32Array.of(0.5, 0.25, 0.25);
    const child = Float32Array.of(0.1, 0.2, 0.7);
    const tree = sampledTree([0, 1, 2], [-1, -1, 0], [root, root, child]);
    expect([...tree.tokens]).toEqual([0, 1, 2]);
    expect([...tree.parents]).toEqual([-1, -1, 0]);
    expect([...(tree.q ?? [])]).toEqual([0.5, 0.25, expect.closeTo(0.7, 6)]);
    expect([...(tree.qDistributions ?? [])]).toEqual([...root, ...root, ...child]);
  });
});

describe('DraftSession.fitChain', () => {
  it.each([
    { tokens: 3, length: 4, remaining: 10, maxNodes: 16, draft: 16, target: 16, expected: 4 },
    { tokens: 3, length: 4, remaining: 2, maxNodes: 16, draft: 16, target: 16, expected: 2 },
    { tokens: 3, length: 4, remaining: 10, maxNodes: 3, draft: 16, target: 16, expected: 3 },
    // The draft model holds the context and all but the last draft row; the target every row.
    { tokens: 3, length: 8, remaining: 10, maxNodes: 16, draft: 6, target: 16, expected: 4 },
    { tokens: 3, length: 8, remaining: 10, maxNodes: 16, draft: 16, target: 5, expected: 2 },
    { tokens: 7, length: 4, remaining: 10, maxNodes: 16, draft: 6, target: 16, expected: 0 },
  ])(
    'context $tokens, length $length → $expected',
    ({ tokens, length, remaining, maxNodes, draft, target: targetContext, expected }) => {
      const session = new DraftSession(draftModel({ contextLength: draft }));
      session.begin({
        model: mockModel({ vocabSize: VOCAB, logits: logitsOf, contextLength: targetContext }),
      });
      const context = { tokens: Array.from({ length: tokens }, () => 1), remaining, maxNodes };
      expect(session.fitChain(context, length)).toBe(expected);
    },
  );
});

describe('DraftSession.validate', () => {
  const layered: CausalLM = {
    ...draftModel(),
    info: { ...draftModel().info, numLayers: 4 },
  };
  it.each([
    { check: { model: undefined }, argument: 'model' },
    { check: { model: undefined, modelArgument: 'draft' }, argument: 'draft' },
    { check: { model: draftModel(), temperature: -1 }, argument: 'temperature' },
    { check: { model: draftModel(), temperature: Number.NaN }, argument: 'temperature' },
    { check: { model: draftModel(), seed: 0.5 }, argument: 'seed' },
    { check: { model: layered, skipLayers: [4] }, argument: 'skipLayers' },
    {
      check: { model: layered, skipLayers: [-1], skipLayersArgument: 'draftSkipLayers' },
      argument: 'draftSkipLayers',
    },
    { check: { model: undefined, modelOptional: true, seed: 1.5 }, argument: 'seed' },
  ])('rejects $argument', ({ check, argument }) => {
    let error: unknown;
    try {
      DraftSession.validate(check);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('asks for the capabilities the drafter needs, and layerSkip for skipped layers', () => {
    const plain = mockModel({ vocabSize: VOCAB, logits: logitsOf, tree: false });
    expect(() =>
      DraftSession.validate({
        model: plain,
        requires: [{ capability: 'tree', hint: 'needs trees' }],
      }),
    ).toThrow(UnsupportedCapabilityError);
    expect(() => DraftSession.validate({ model: layered, skipLayers: [1] })).toThrow(
      /layerSkip.*skipLayers needs/,
    );
  });

  it('accepts good options and a missing optional model', () => {
    expect(() =>
      DraftSession.validate({ model: draftModel(), temperature: 0, seed: 3 }),
    ).not.toThrow();
    expect(() => DraftSession.validate({ model: undefined, modelOptional: true })).not.toThrow();
  });
});
