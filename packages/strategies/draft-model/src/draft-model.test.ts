import {
  InvalidArgumentError,
  VocabMismatchError,
  createDecoder,
  mockModel,
  speculative,
  testBeginContext,
} from '@decodekit/core';
import type {
  CausalLM,
  DecodeEvent,
  DraftContext,
  DraftTree,
  GenerateOptions,
  MockModel,
  Sequence,
  VerifyResult,
} from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import { chaoticModel, cyclicModel, markovModel, unit } from '@decodekit/conformance';
import { draftModel } from './draft-model.js';
import type { DraftModelOptions } from './draft-model.js';

const syncLogits = new Map<MockModel, (context: readonly number[]) => ArrayLike<number>>();

/** The target's logits plus noise of size `noise`: a draft that agrees most of the time. */
function noisyCopy(target: MockModel, noise: number, seed = 99): MockModel {
  const targetLogits = syncLogits.get(target);
  assert(targetLogits, 'the target was built by this file');
  return mockModel({
    vocabSize: target.info.vocabSize,
    name: `noisy(${target.info.name})`,
    logits: context => {
      const row = targetLogits(context);
      const out = new Float32Array(row.length);
      for (let i = 0; i < row.length; i++)
        out[i] = row[i] + noise * unit(seed, i, context.length, context[context.length - 1]);
      return out;
    },
  });
}

/** A markov model plus its synchronous logits function (for building noisy drafts). */
function markov(seed: number, vocabSize = 12, order = 2): MockModel {
  const logits = (context: readonly number[]) => {
    const tail = context.slice(-order);
    const row = new Float32Array(vocabSize);
    for (let token = 0; token < vocabSize; token++) row[token] = 4 * unit(seed, token, ...tail);
    return row;
  };
  const model = mockModel({ vocabSize, logits, name: `markov-${seed}` });
  syncLogits.set(model, logits);
  return model;
}

/** Wraps a model so the test sees every sequence it creates and whether it was disposed. */
function tracked(model: CausalLM) {
  const sequences: { sequence: Sequence; disposed: boolean }[] = [];
  const wrapped: CausalLM = {
    ...model,
    info: model.info,
    capabilities: model.capabilities,
    createSequence() {
      const sequence = model.createSequence();
      const entry = { sequence, disposed: false };
      sequences.push(entry);
      const originalDispose = sequence.dispose.bind(sequence);
      sequence.dispose = () => {
        entry.disposed = true;
        originalDispose();
      };
      return sequence;
    },
  };
  return { model: wrapped, sequences };
}

async function compare(
  target: CausalLM,
  prompt: number[],
  options: GenerateOptions,
  drafter: DraftModelOptions,
  budget?: number,
) {
  const plain = await createDecoder({ model: target }).generate({ tokens: prompt }, options);
  const fast = await createDecoder({ model: target })
    .use(speculative({ drafter: draftModel(drafter), budget, adaptive: false }))
    .generate({ tokens: prompt }, options);
  return { plain, fast };
}

const context = (tokens: number[], overrides: Partial<DraftContext> = {}): DraftContext => ({
  tokens,
  promptLength: tokens.length,
  maxNodes: 16,
  remaining: 100,
  treeCapable: true,
  greedy: false,
  ...overrides,
});

function result(tree: DraftTree, accepted: number): VerifyResult {
  return {
    tokens: [],
    tree,
    acceptedRows: Array.from({ length: accepted }, (_, i) => i),
    emitted: [],
    logits: new Float32Array(0),
    vocabSize: 12,
  };
}

describe('draftModel setup', () => {
  it('throws VocabMismatchError with an actionable message when vocabularies differ', async () => {
    const target = markov(1, 12);
    const draft = markov(2, 16);
    const decoder = createDecoder({ model: target }).use(
      speculative({ drafter: draftModel({ model: draft }), adaptive: false }),
    );
    const failure = await decoder
      .generate({ tokens: [1, 2] }, { maxTokens: 4 })
      .catch((error: unknown) => error);
    expect(VocabMismatchError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/16 tokens.*has 12.*same family.*promptLookup\(\)/s);
  });

  it.each([
    { options: { model: undefined as unknown as CausalLM }, argument: 'model' },
    { options: { numAssistantTokens: 0 }, argument: 'numAssistantTokens' },
    { options: { schedule: 'dynamic' as never }, argument: 'schedule' },
    { options: { temperature: -1 }, argument: 'temperature' },
    { options: { seed: 0.5 }, argument: 'seed' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      draftModel({ model: markov(1), ...options });
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('disposes its sequence when the generation ends', async () => {
    const { model: draft, sequences } = tracked(markov(1));
    const target = markov(1);
    await createDecoder({ model: target })
      .use(speculative({ drafter: draftModel({ model: draft }), adaptive: false }))
      .generate({ tokens: [1, 2] }, { maxTokens: 10 });
    expect(sequences).toHaveLength(1);
    expect(sequences[0].disposed).toBe(true);
  });
});

describe('draftModel sequence sync', () => {
  it('feeds the prompt once, then only the tokens it is missing after truncating rejected drafts', async () => {
    const draft = markov(3);
    const drafter = draftModel({ model: draft, numAssistantTokens: 3, schedule: 'constant' });
    await drafter.begin?.(testBeginContext({ tokens: [1, 2, 3], model: draft }));
    const first = await drafter.propose(context([1, 2, 3]));
    assert(first, 'the drafter proposes');
    expect(first.tokens).toHaveLength(3);
    const [d1, d2, d3] = first.tokens;
    // Prompt in one forward, then d1 and d2 one at a time (d3 is never fed).
    expect(draft.forwardCalls.map(call => [call.prefixLength, call.tokens])).toEqual([
      [0, [1, 2, 3]],
      [3, [d1]],
      [4, [d2]],
    ]);
    // The target accepted d1, rejected d2 and emitted its own token x: keep [1 2 3 d1], feed x.
    const x = (d2 + 1) % 12;
    await drafter.propose(context([1, 2, 3, d1, x]));
    expect(draft.forwardCalls[3]).toMatchObject({ prefixLength: 4, tokens: [x] });
    expect(d3).toBeGreaterThanOrEqual(0);
    await drafter.end?.();
  });

  it('stops drafting after an end-of-sequence token', async () => {
    const base = cyclicModel({ vocabSize: 12, period: 9 });
    const target = { ...base, info: { ...base.info, eosTokenIds: [4] } };
    const drafter = draftModel({ model: base, numAssistantTokens: 8 });
    await drafter.begin?.(testBeginContext({ tokens: [1], model: target }));
    expect([...((await drafter.propose(context([1])))?.tokens ?? [])]).toEqual([2, 3, 4]);
  });

  it('respects maxNodes, remaining and the draft context length', async () => {
    const draft = mockModel({
      vocabSize: 12,
      contextLength: 6,
      logits: () => new Float32Array(12),
    });
    const drafter = draftModel({ model: draft, numAssistantTokens: 5 });
    await drafter.begin?.(testBeginContext({ tokens: [1], model: draft }));
    expect((await drafter.propose(context([1], { maxNodes: 2 })))?.tokens).toHaveLength(2);
    expect((await drafter.propose(context([1], { remaining: 3 })))?.tokens).toHaveLength(3);
    expect((await drafter.propose(context([1, 2, 3, 4])))?.tokens).toHaveLength(3); // 4 + 3 − 1 = 6 positions
    expect(await drafter.propose(context([1, 2, 3, 4, 5, 6, 7]))).toBeUndefined();
  });
});

describe('draftModel schedule', () => {
  const chain = (n: number): DraftTree => ({
    tokens: new Int32Array(n),
    parents: Int32Array.from({ length: n }, (_, i) => i - 1),
  });

  it("follows Hugging Face's heuristic: +2 on full acceptance, −1 otherwise, at least 1", async () => {
    const drafter = draftModel({ model: markov(1) });
    await drafter.begin?.(testBeginContext({ tokens: [1], model: markov(1) }));
    await drafter.propose(context([1])); // records maxNodes = 16
    const trace: number[] = [];
    for (const [proposed, accepted] of [
      [5, 5],
      [7, 7],
      [9, 3],
      [8, 0],
      [7, 1],
      [6, 0],
      [5, 0],
      [4, 0],
      [3, 0],
      [2, 0],
      [1, 0],
      [1, 1],
    ]) {
      await drafter.observe?.(result(chain(proposed), accepted));
      trace.push(drafter.numAssistantTokens);
    }
    expect(trace).toEqual([7, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 3]);
  });

  it('never grows past the verification budget, and ignores steps without a draft', async () => {
    const drafter = draftModel({ model: markov(1), numAssistantTokens: 5 });
    await drafter.propose(context([1], { maxNodes: 6 }));
    await drafter.observe?.(result(chain(5), 5));
    await drafter.observe?.(result(chain(6), 6));
    expect(drafter.numAssistantTokens).toBe(6);
    await drafter.observe?.(result(chain(0), 0));
    expect(drafter.numAssistantTokens).toBe(6);
  });

  it("carries the adapted length to the next generation ('heuristic') or resets it ('heuristic-transient', 'constant')", async () => {
    for (const [schedule, expected] of [
      ['heuristic', 7],
      ['heuristic-transient', 5],
      ['constant', 5],
    ] as const) {
      const drafter = draftModel({ model: markov(1), schedule });
      await drafter.begin?.(testBeginContext({ tokens: [1], model: markov(1) }));
      await drafter.observe?.(result(chain(5), 5));
      await drafter.end?.();
      await drafter.begin?.(testBeginContext({ tokens: [1], model: markov(1) }));
      expect(drafter.numAssistantTokens).toBe(expected);
    }
  });
});

describe('draftModel through speculative() (O-greedy)', () => {
  const greedy = { maxTokens: 50, temperature: 0 };

  it.each([1, 2, 3, 4])(
    'with the target itself as draft: identical output and every draft accepted (seed %i)',
    async seed => {
      const target = markov(seed);
      const { plain, fast } = await compare(target, [1, 2, 3], greedy, { model: markov(seed) });
      expect(fast.tokens).toEqual(plain.tokens);
      expect(fast.stats.acceptanceRate).toBe(1);
      expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(4);
    },
  );

  it.each([
    { noise: 0.5, seed: 5 },
    { noise: 1.5, seed: 6 },
    { noise: 4, seed: 7 },
  ])('with a noisy draft (noise $noise): identical output', async ({ noise, seed }) => {
    const target = markov(seed);
    const { plain, fast } = await compare(target, [4, 5], greedy, {
      model: noisyCopy(target, noise),
    });
    expect(fast.tokens).toEqual(plain.tokens);
    if (noise <= 0.5) expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(1.5);
  });

  it('stays exact with an unrelated draft, on a chain-only target, with penalties and with a sampling draft', async () => {
    const unrelated = await compare(chaoticModel({ vocabSize: 12 }), [1, 2], greedy, {
      model: markov(8),
    });
    expect(unrelated.fast.tokens).toEqual(unrelated.plain.tokens);

    const chainOnly = markovModel({ seed: 9, tree: false, vocabSize: 12 });
    const a = await compare(chainOnly, [1, 2], greedy, { model: markov(9) });
    expect(a.fast.tokens).toEqual(a.plain.tokens);

    const target = markov(10);
    const b = await compare(
      target,
      [1, 2],
      { ...greedy, repetitionPenalty: 1.4, noRepeatNgramSize: 3 },
      { model: markov(10) },
    );
    expect(b.fast.tokens).toEqual(b.plain.tokens);

    const c = await compare(target, [1, 2], greedy, {
      model: noisyCopy(target, 1),
      temperature: 0.7,
      seed: 3,
    });
    expect(c.fast.tokens).toEqual(c.plain.tokens);
  });
});

describe('draftModel under sampling', () => {
  it('provides q and qDistributions from the distribution it sampled', async () => {
    const draft = markov(1);
    const drafter = draftModel({ model: draft, temperature: 0.5, numAssistantTokens: 3 });
    expect(drafter.providesProbabilities).toBe(true);
    await drafter.begin?.(testBeginContext({ tokens: [1, 2], model: draft }));
    const tree = await drafter.propose(context([1, 2]));
    assert(tree?.qDistributions && tree.q, 'a sampling drafter proposes with probabilities');
    const { q, qDistributions } = tree;
    expect(qDistributions).toHaveLength(3 * 12);
    for (let row = 0; row < 3; row++) {
      const distribution = qDistributions.subarray(row * 12, (row + 1) * 12);
      expect(distribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(q[row]).toBeCloseTo(distribution[tree.tokens[row]], 7);
    }
    // Row 0's distribution is softmax(logits / 0.5) after [1, 2].
    const draftLogits = syncLogits.get(draft);
    assert(draftLogits, 'the draft was built by this file');
    const logits = draftLogits([1, 2]);
    const weights = Array.from(logits, value => Math.exp(value / 0.5));
    const sum = weights.reduce((a, b) => a + b, 0);
    weights.forEach((weight, token) => expect(qDistributions[token]).toBeCloseTo(weight / sum, 5));
  });

  it('keeps the target distribution with speculative sampling (seeded)', async () => {
    const vocabSize = 3;
    const table = [
      [1.0, 0.2, -0.5],
      [0.1, 0.9, 0.3],
      [-0.4, 0.6, 0.8],
    ];
    const target = mockModel({ vocabSize, logits: tokens => table[tokens[tokens.length - 1]] });
    // A draft that disagrees a lot: a flatter, shifted distribution.
    const draft = mockModel({
      vocabSize,
      logits: tokens => table[(tokens[tokens.length - 1] + 1) % 3].map(v => v / 2),
    });
    const decoder = createDecoder({ model: target }).use(
      speculative({
        drafter: draftModel({
          model: draft,
          temperature: 1,
          numAssistantTokens: 2,
          schedule: 'constant',
        }),
      }),
    );
    const softmax = (row: number[]) => {
      const weights = row.map(value => Math.exp(value));
      const sum = weights.reduce((a, b) => a + b, 0);
      return weights.map(value => value / sum);
    };
    const samples = 3000;
    const counts = new Map<string, number>();
    let drafted = 0;
    for (let seed = 0; seed < samples; seed++) {
      const { tokens, stats } = await decoder.generate(
        { tokens: [2, 0] },
        { maxTokens: 2, temperature: 1, seed },
      );
      drafted += stats.draftTokens ?? 0;
      counts.set(tokens.join(','), (counts.get(tokens.join(',')) ?? 0) + 1);
    }
    let chiSquare = 0;
    const first = softmax(table[0]);
    for (let a = 0; a < vocabSize; a++) {
      const second = softmax(table[a]);
      for (let b = 0; b < vocabSize; b++) {
        const expected = first[a] * second[b] * samples;
        chiSquare += ((counts.get(`${a},${b}`) ?? 0) - expected) ** 2 / expected;
      }
    }
    expect(drafted).toBeGreaterThan(samples); // the drafts were really verified
    expect(chiSquare).toBeLessThan(26.1); // 8 degrees of freedom, p = 0.001
  });
});

describe('draftModel with a draft context shorter than the prompt', () => {
  it('says so once, as a warning event, and still decodes exactly like autoregressive decoding', async () => {
    const target = markovModel({ vocabSize: 16, seed: 4 });
    const draft = mockModel({
      vocabSize: 16,
      contextLength: 8,
      logits: () => new Float32Array(16),
    });
    const prompt = { tokens: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
    const events: DecodeEvent[] = [];
    for await (const event of createDecoder({ model: target })
      .use(speculative({ drafter: draftModel({ model: draft }) }))
      .stream(prompt, { maxTokens: 12 })) {
      events.push(event);
    }
    const warnings = events.filter(event => event.type === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'draft-context-exceeded' });
    expect((warnings[0] as { message: string }).message).toMatch(
      /context of 8 tokens.*drafts nothing/,
    );
    const plain = await createDecoder({ model: target }).generate(prompt, { maxTokens: 12 });
    const done = events.at(-1) as { type: 'done'; tokens: number[] };
    expect(done.tokens).toEqual(plain.tokens);
  });

  it('sends no warning while the draft model still fits', async () => {
    const target = markovModel({ vocabSize: 16, seed: 4 });
    const draft = mockModel({
      vocabSize: 16,
      contextLength: 64,
      logits: () => new Float32Array(16),
    });
    const types: string[] = [];
    for await (const event of createDecoder({ model: target })
      .use(speculative({ drafter: draftModel({ model: draft }) }))
      .stream({ tokens: [1, 2, 3] }, { maxTokens: 8 })) {
      types.push(event.type);
    }
    expect(types).not.toContain('warning');
  });
});
