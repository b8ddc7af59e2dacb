import {
  createDecoder,
  InvalidArgumentError,
  mockModel,
  UnsupportedCapabilityError,
  wrapModel,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import {
  embeddingsModelOf,
  ngramModel,
  superposedDecoding,
  superposedStrategy,
  type EmbeddingsModel,
} from './index.js';

const VOCAB = 8;

/** Next-token logits of the toy LM after a context of tokens (hashing, so contexts differ). */
function toyLogits(context: readonly number[]): number[] {
  let hash = 7;
  for (const token of context) hash = (hash * 31 + token + 1) % 10_007;
  return Array.from({ length: VOCAB }, (_, i) => Math.sin(hash * 0.01 * (i + 3)) * 4);
}

/**
 * An EmbeddingsModel with one-hot embeddings (hidden = vocab): a one-hot row is token i, so a run of one-hot
 * rows is the toy LM on those tokens; a mixed row is recorded, and the model treats it as its argmax token.
 */
function oneHotModel(eosTokenIds: number[] = []): EmbeddingsModel & { appended: Float32Array[] } {
  const table = new Float32Array(VOCAB * VOCAB);
  for (let i = 0; i < VOCAB; i++) table[i * VOCAB + i] = 1;
  const appended: Float32Array[] = [];
  return {
    info: { name: 'one-hot', vocabSize: VOCAB, hiddenSize: VOCAB, contextLength: 256, eosTokenIds },
    embeddingTable: table,
    appended,
    createSequence() {
      const tokens: number[] = [];
      return {
        get length() {
          return tokens.length;
        },
        async append(embeddings) {
          const out = new Float32Array((embeddings.length / VOCAB) * VOCAB);
          for (let row = 0; row < embeddings.length / VOCAB; row++) {
            const vector = embeddings.slice(row * VOCAB, (row + 1) * VOCAB);
            appended.push(vector);
            tokens.push(vector.indexOf(Math.max(...vector)));
            out.set(toyLogits(tokens), row * VOCAB);
          }
          return out;
        },
        dispose() {},
      };
    },
  };
}

describe('ngramModel', () => {
  const model = ngramModel(
    [
      [1, 2, 3, 1, 2, 4],
      [2, 3],
    ],
    { maxOrder: 3 },
  );
  it.each([
    { context: [2], next: 3, expected: 2 / 3 }, // 2→3 twice, 2→4 once
    { context: [2], next: 4, expected: 1 / 3 },
    { context: [1, 2], next: 4, expected: 1 / 2 },
    { context: [3], next: 1, expected: 1 },
    { context: [5], next: 1, expected: -1 }, // unseen context
    { context: [3, 2], next: 1, expected: -1 },
    { context: [2], next: 7, expected: 0 },
  ])('P($next | $context) = $expected', ({ context, next, expected }) => {
    expect(model.prob(context, next)).toBeCloseTo(expected, 10);
  });
});

describe('superposedDecoding', () => {
  it('k = 1 without n-grams is greedy decoding of the model, token for token', async () => {
    const reference = mockModel({ vocabSize: VOCAB, logits: toyLogits });
    for (const prompt of [[0], [1, 2, 3], [5, 5, 5, 5]]) {
      const greedy = await createDecoder({ model: reference }).generate(
        { tokens: prompt },
        { maxTokens: 20 },
      );
      const { drafts, forwardPasses } = await superposedDecoding({ numDrafts: 1 }).generate({
        model: oneHotModel(),
        prompt,
        maxTokens: 20,
      });
      expect(drafts[0].tokens).toEqual(greedy.tokens);
      expect(forwardPasses).toBe(20);
    }
  });

  it('feeds the drafts-probability-weighted sum of their last-token embeddings, one row per step', async () => {
    const model = oneHotModel();
    const { drafts, forwardPasses } = await superposedDecoding({
      numDrafts: 3,
      temperature: 1,
      numTokenSample: 4,
    }).generate({ model, prompt: [1, 2], maxTokens: 4 });
    expect(forwardPasses).toBe(4); // prefill + 3 superposed steps for 4 tokens of 3 drafts
    expect(drafts).toHaveLength(3);
    expect(model.appended).toHaveLength(2 + 3);
    // Step 1's input: the 3 best first tokens weighted by their (renormalized) probabilities.
    const logits = toyLogits([1, 2]);
    const max = Math.max(...logits);
    const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a]);
    const kept = order.slice(0, 4);
    const z = kept.reduce((sum, token) => sum + Math.exp(logits[token] - max), 0);
    const top3 = kept.slice(0, 3).map(token => Math.exp(logits[token] - max) / z);
    const expected = new Float32Array(VOCAB);
    kept
      .slice(0, 3)
      .forEach((token, i) => (expected[token] = top3[i] / top3.reduce((a, b) => a + b, 0)));
    expect(Array.from(model.appended[2])).toEqual(
      Array.from(expected).map(value => expect.closeTo(value, 6)),
    );
    // Drafts are distinct and ranked by score.
    expect(new Set(drafts.map(draft => draft.tokens.join())).size).toBe(3);
    expect(drafts[0].score).toBeGreaterThanOrEqual(drafts[1].score);
  });

  it('interpolates with n-gram probabilities: α = 1 follows the corpus, and no match costs the penalty', async () => {
    // The corpus always continues 1 2 → 6 → 7 → 6 → 7 …, which the toy LM rarely prefers.
    const ngrams = ngramModel([[1, 2, 6, 7, 6, 7, 6, 7, 6, 7]], { maxOrder: 3 });
    const decode = (alpha: number) =>
      superposedDecoding({
        numDrafts: 1,
        ngrams,
        alpha,
        interpolationWeights: [0.5, 0.5],
        temperature: 1,
        numTokenSample: VOCAB,
      });
    const followed = await decode(0.99).generate({
      model: oneHotModel(),
      prompt: [1, 2],
      maxTokens: 6,
    });
    expect(followed.drafts[0].tokens).toEqual([6, 7, 6, 7, 6, 7]);
    const plain = await superposedDecoding({ numDrafts: 1 }).generate({
      model: oneHotModel(),
      prompt: [1, 2],
      maxTokens: 6,
    });
    expect(plain.drafts[0].tokens).not.toEqual([6, 7, 6, 7, 6, 7]);
    // Hand-computed first score: (1 − α) log P(6) + α log(0.5 · P(6|2) + 0.5 · P(6|1 2)) = (1 − α) log P(6).
    const logits = toyLogits([1, 2]);
    const logZ = Math.log(logits.reduce((sum, value) => sum + Math.exp(value), 0));
    const oneStep = await decode(0.3).generate({
      model: oneHotModel(),
      prompt: [1, 2],
      maxTokens: 1,
    });
    const best = Math.max(...[6].map(token => 0.7 * (logits[token] - logZ)));
    expect(oneStep.drafts[0]).toEqual({ tokens: [6], score: expect.closeTo(best, 6) });
    // A context the corpus never saw: every candidate gets (1 − α) log P − penalty.
    const unseen = await superposedDecoding({
      numDrafts: 1,
      ngrams,
      alpha: 0.3,
      interpolationWeights: [1],
      penalty: 200,
      temperature: 1,
      numTokenSample: VOCAB,
    }).generate({ model: oneHotModel(), prompt: [4], maxTokens: 1 });
    const unseenLogits = toyLogits([4]);
    const unseenZ = Math.log(unseenLogits.reduce((sum, value) => sum + Math.exp(value), 0));
    expect(unseen.drafts[0].score).toBeCloseTo(
      0.7 * (Math.max(...unseenLogits) - unseenZ) - 200,
      6,
    );
  });

  it('moves drafts that end with EOS to the finished set', async () => {
    const logits = toyLogits([1, 2]);
    const eos = logits.indexOf(Math.max(...logits)); // the most likely first token is EOS
    const result = await superposedDecoding({ numDrafts: 2, temperature: 1 }).generate({
      model: oneHotModel([eos]),
      prompt: [1, 2],
      maxTokens: 5,
    });
    expect(result.finished[0].tokens).toEqual([eos]);
    expect(result.drafts.every(draft => !draft.tokens.includes(eos))).toBe(true);
    expect(result.drafts.every(draft => draft.tokens.length === 5)).toBe(true);
  });

  it('validates options', () => {
    expect(() => superposedDecoding({ numDrafts: 0 })).toThrow(InvalidArgumentError);
    expect(() => superposedDecoding({ temperature: 0 })).toThrow(InvalidArgumentError);
    expect(() => superposedDecoding({ alpha: 2 })).toThrow(InvalidArgumentError);
    expect(() => superposedDecoding({ numTokenSample: 0 })).toThrow(InvalidArgumentError);
    expect(() => superposedDecoding({ ngrams: ngramModel([[1, 2]], { maxOrder: 3 }) })).toThrow(
      /contexts up to 2/,
    );
    expect(() => ngramModel([], { maxOrder: 1 })).toThrow(InvalidArgumentError);
  });

  it('needs capabilities.inputEmbeddings on a core CausalLM', async () => {
    const model = mockModel({ vocabSize: VOCAB, logits: toyLogits });
    expect(() => createDecoder({ model }).use(superposedStrategy())).toThrow(
      UnsupportedCapabilityError,
    );
    expect(() => embeddingsModelOf(model)).toThrow(/inputEmbeddings/);
    await expect(
      superposedDecoding().generate({ model, prompt: [1], maxTokens: 2 }),
    ).rejects.toThrow(UnsupportedCapabilityError);
  });
});

describe('decoder.search() with superposedStrategy', () => {
  it('returns every draft ranked by score; without EOS they are the drafts of the standalone search', async () => {
    // A core CausalLM taking input embeddings: one-hot embeddings, and a superposed row acts as the token
    // that names it (the best draft's), as the one-hot EmbeddingsModel above treats a mixture as its argmax.
    const table = new Float32Array(VOCAB * VOCAB);
    for (let i = 0; i < VOCAB; i++) table[i * VOCAB + i] = 1;
    const model = Object.assign(
      wrapModel({
        model: mockModel({ vocabSize: VOCAB, logits: toyLogits }),
        middleware: {
          name: 'one-hot-embeddings',
          transformInfo: info => ({ ...info, hiddenSize: VOCAB }),
          transformCapabilities: capabilities => ({ ...capabilities, inputEmbeddings: true }),
          wrapForward: ({ input, options, doForward }) =>
            doForward({ tokens: input.tokens, parents: input.parents }, options),
        },
      }),
      { embeddingTable: () => table },
    );
    const options = { numDrafts: 3, temperature: 1 };
    const result = await createDecoder({ model })
      .use(superposedStrategy(options))
      .search({ tokens: [1, 2] }, { maxTokens: 6 });
    const standalone = await superposedDecoding(options).generate({
      model: oneHotModel(),
      prompt: [1, 2],
      maxTokens: 6,
    });
    expect(standalone.finished).toEqual([]);
    expect(result.hypotheses.map(h => [h.tokens, h.score])).toEqual(
      standalone.drafts.map(draft => [draft.tokens, draft.score]),
    );
    expect(result.hypotheses).toHaveLength(3);
    expect(result.tokens).toEqual(result.hypotheses[0].tokens);
    const scores = result.hypotheses.map(h => h.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });
});
