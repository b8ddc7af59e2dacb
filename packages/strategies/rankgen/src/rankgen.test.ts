import {
  createDecoder,
  InvalidArgumentError,
  mockModel,
  VocabMismatchError,
  type CausalLM,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  likelihoodScorer,
  modelScorer,
  rankgen,
  type RankGenScoreArgs,
  type RankGenScorer,
} from './index.js';

const SAMPLING = { temperature: 1, topP: 0.9 };

/** A scorer that prefers candidates with more of `token`, and records every call. */
function countingScorer(token: number): RankGenScorer & { calls: RankGenScoreArgs[] } {
  const calls: RankGenScoreArgs[] = [];
  return {
    name: `count(${token})`,
    calls,
    score(args) {
      calls.push(args);
      return args.candidates.map(candidate => candidate.tokens.filter(id => id === token).length);
    },
  };
}

const logSoftmax = (row: number[]) => {
  const max = Math.max(...row);
  const log = Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return row.map(value => value - max - log);
};

describe('rankgen', () => {
  it('beamSize 1, numSamples 1 is plain sampling, token for token, and never calls the scorer', async () => {
    const scorer = countingScorer(0);
    for (const seed of [1, 2, 3, 4]) {
      const model = toyModel({ vocabSize: 16, seed, copyBias: 2 });
      for (const options of [
        { ...SAMPLING, seed },
        { ...SAMPLING, seed, repetitionPenalty: 1.3 },
        { temperature: 0 },
      ]) {
        const plain = await createDecoder({ model }).generate(
          { tokens: [1, 2, 3] },
          { maxTokens: 30, ...options },
        );
        const search = rankgen({ scorer, beamSize: 1, numSamples: 1, numTokens: 7 });
        const result = await createDecoder({ model })
          .use(search)
          .generate({ tokens: [1, 2, 3] }, { maxTokens: 30, ...options });
        expect(result.tokens, `seed ${seed} ${JSON.stringify(options)}`).toEqual(plain.tokens);
      }
    }
    expect(scorer.calls).toHaveLength(0);
  });

  it('over-generate-and-rerank returns the best of its samples; the first sample is the plain sample', async () => {
    const model = toyModel({ vocabSize: 16, seed: 5, copyBias: 1 });
    const scorer = countingScorer(4);
    const search = rankgen({ scorer, beamSize: 1, numSamples: 6, numTokens: 24 });
    const result = await search.generate({
      model,
      prompt: { tokens: [1, 2] },
      options: { maxTokens: 24, ...SAMPLING, seed: 9 },
    });
    const plain = await createDecoder({ model }).generate(
      { tokens: [1, 2] },
      { maxTokens: 24, ...SAMPLING, seed: 9 },
    );
    expect(scorer.calls).toHaveLength(1);
    const { candidates } = scorer.calls[0];
    expect(candidates).toHaveLength(6);
    expect(candidates[0].tokens).toEqual(plain.tokens);
    const counts = candidates.map(candidate => candidate.tokens.filter(id => id === 4).length);
    const best = counts.indexOf(Math.max(...counts)); // ties: the first
    expect(result.tokens).toEqual(candidates[best].tokens);
    expect(result.hypotheses).toEqual([
      { tokens: candidates[best].tokens, text: '', score: Math.max(...counts) },
    ]);
    expect(new Set(candidates.map(candidate => candidate.tokens.join())).size).toBeGreaterThan(1);
  });

  it('keeps the best beamSize candidates every numTokens tokens; every round extends a survivor', async () => {
    const model = toyModel({ vocabSize: 16, seed: 6, copyBias: 1 });
    const scorer = countingScorer(7);
    const search = rankgen({ scorer, beamSize: 2, numSamples: 3, numTokens: 4 });
    const result = await createDecoder({ model })
      .use(search)
      .search({ tokens: [1] }, { maxTokens: 10, ...SAMPLING, seed: 3 });
    // Rounds of 4, 4 and 2 tokens; round 1 samples beamSize × numSamples continuations of the prompt.
    expect(scorer.calls.map(call => call.candidates.length)).toEqual([6, 6, 6]);
    expect(scorer.calls.map(call => call.candidates[0].tokens.length)).toEqual([4, 8, 10]);
    expect(result.details).toEqual({
      rounds: 3,
      scoredCandidates: 18,
      sampleForwards: 6 * 4 + 6 * 4 + 6 * 2,
    });
    for (let round = 1; round < scorer.calls.length; round++) {
      const previous = scorer.calls[round - 1].candidates;
      const scores = previous.map(candidate => candidate.tokens.filter(id => id === 7).length);
      const order = previous.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
      const survivors = order.slice(0, 2).map(i => previous[i].tokens.join());
      for (const candidate of scorer.calls[round].candidates) {
        expect(survivors).toContain(candidate.tokens.slice(0, previous[0].tokens.length).join());
      }
    }
    const last = scorer.calls[2].candidates;
    const lastScores = last.map(candidate => candidate.tokens.filter(id => id === 7).length);
    expect(result.hypotheses).toHaveLength(2);
    expect(result.hypotheses[0].score).toBe(Math.max(...lastScores));
    expect(result.hypotheses[0].score).toBeGreaterThanOrEqual(result.hypotheses[1].score);
    expect(result.tokens).toEqual(result.hypotheses[0].tokens);
  });

  it('carries finished beams into later rounds, where they compete again', async () => {
    // Token 5 is EOS and likely right after the prompt; the scorer loves the first finished candidate, so one
    // finished and one running beam survive round 1.
    const model = mockModel({
      vocabSize: 6,
      eosTokenIds: [5],
      logits: context => (context.length === 1 ? [0, 0, 0, 0, 0, 2] : [1, 1, 1, 1, 1, -3]),
    });
    const scorer: RankGenScorer & { calls: RankGenScoreArgs[] } = {
      name: 'eos-lover',
      calls: [],
      score(args) {
        this.calls.push(args);
        const first = args.candidates.findIndex(candidate => candidate.finished);
        return args.candidates.map((candidate, i) =>
          i === first ? 10 : candidate.finished ? -1 : candidate.tokens.length,
        );
      },
    };
    const search = rankgen({ scorer, beamSize: 2, numSamples: 4, numTokens: 3 });
    const result = await createDecoder({ model })
      .use(search)
      .search({ tokens: [0] }, { maxTokens: 9, temperature: 1, seed: 2 });
    const finishedAfterRound1 = scorer.calls[0].candidates.filter(candidate => candidate.finished);
    expect(finishedAfterRound1.length).toBeGreaterThan(0);
    expect(scorer.calls.length).toBeGreaterThan(1);
    expect(scorer.calls[1].candidates[0]).toEqual({ tokens: [5], text: '', finished: true });
    expect(scorer.calls[1].candidates.slice(1).map(candidate => candidate.tokens.length)).toEqual([
      6, 6, 6, 6,
    ]);
    expect(result.tokens).toEqual([5]);
    expect(result.reason).toBe('eos');
  });

  it('streams through the decoder the same tokens search returns', async () => {
    const model = toyModel({ vocabSize: 16, seed: 2 });
    const search = rankgen({
      scorer: likelihoodScorer(),
      beamSize: 2,
      numSamples: 2,
      numTokens: 3,
    });
    const options = { maxTokens: 11, ...SAMPLING, seed: 4 };
    const tokens: number[] = [];
    for await (const event of createDecoder({ model })
      .use(search)
      .stream({ tokens: [3] }, options))
      if (event.type === 'token') tokens.push(event.tokenId);
    const { tokens: searched, hypotheses } = await createDecoder({ model })
      .use(search)
      .search({ tokens: [3] }, options);
    expect(tokens).toEqual(searched);
    expect(tokens).toEqual(hypotheses[0].tokens);
    expect(tokens).toHaveLength(11);
  });

  it('likelihoodScorer and modelScorer return the (mean or summed) log-likelihood of each candidate', async () => {
    const logits = (context: readonly number[]) => [0.5, -1, 2, context.length % 3, 0.25, -0.5];
    const model = mockModel({ vocabSize: 6, logits });
    const other = mockModel({ vocabSize: 6, logits: context => [context.length, 0, 0, 1, 0, 0] });
    const prompt = [0, 1];
    const candidates = [
      { tokens: [2, 3, 4], text: '', finished: false },
      { tokens: [5], text: '', finished: true },
    ];
    const expected = (scoring: (context: readonly number[]) => number[], tokens: number[]) =>
      tokens.reduce(
        (sum, token, i) => sum + logSoftmax(scoring([...prompt, ...tokens.slice(0, i)]))[token],
        0,
      );
    const args = { model, prompt, promptText: '', candidates };
    const mean = await likelihoodScorer().score(args);
    expect(Array.from(mean)).toEqual(
      [expected(logits, [2, 3, 4]) / 3, expected(logits, [5])].map(value =>
        expect.closeTo(value, 5),
      ),
    );
    const sum = await likelihoodScorer({ normalize: 'sum' }).score(args);
    expect(sum[0]).toBeCloseTo(expected(logits, [2, 3, 4]), 5);
    const second = await modelScorer({ model: other }).score(args);
    expect(second[0]).toBeCloseTo(
      expected(context => [context.length, 0, 0, 1, 0, 0], [2, 3, 4]) / 3,
      5,
    );
    await expect(modelScorer({ model: toyModel({ vocabSize: 9 }) }).score(args)).rejects.toThrow(
      VocabMismatchError,
    );
  });

  it('validates options and scorer output', async () => {
    const scorer = likelihoodScorer();
    expect(() => rankgen({ scorer: undefined as unknown as RankGenScorer })).toThrow(
      InvalidArgumentError,
    );
    expect(() => rankgen({ scorer, beamSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => rankgen({ scorer, numSamples: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => rankgen({ scorer, numTokens: -1 })).toThrow(InvalidArgumentError);
    expect(() => likelihoodScorer({ normalize: 'max' as 'mean' })).toThrow(InvalidArgumentError);
    expect(() => modelScorer({ model: undefined as unknown as CausalLM })).toThrow(
      InvalidArgumentError,
    );
    const broken = rankgen({ scorer: { name: 'short', score: () => [1] }, numSamples: 2 });
    await expect(
      createDecoder({ model: toyModel() })
        .use(broken)
        .generate({ tokens: [1] }, { maxTokens: 4, temperature: 1 }),
    ).rejects.toThrow(/returned 1 scores for 4/);
  });
});

describe('decoder.search() with RankGen', () => {
  it('reports the final beams with the scorer’s scores, per-token log-probabilities and round counts', async () => {
    const model = toyModel({ vocabSize: 16, seed: 6, copyBias: 1 });
    const scorer = countingScorer(7);
    const result = await createDecoder({ model })
      .use(rankgen({ scorer, beamSize: 2, numSamples: 3, numTokens: 4 }))
      .search({ tokens: [1] }, { maxTokens: 10, temperature: 1, seed: 3 });
    expect(result.details).toEqual({ rounds: 3, scoredCandidates: 18, sampleForwards: 60 });
    expect(result.hypotheses).toHaveLength(2);
    expect(result.tokens).toEqual(result.hypotheses[0].tokens);
    expect(result.hypotheses[0].score).toBeGreaterThanOrEqual(result.hypotheses[1].score);
    for (const hypothesis of result.hypotheses) {
      expect(hypothesis.score).toBe(hypothesis.tokens.filter(id => id === 7).length);
      // At temperature 1 the processed distribution is the model's own: check every token's log-probability.
      const perToken = hypothesis.tokenLogProbabilities ?? [];
      expect(perToken).toHaveLength(hypothesis.tokens.length);
      const sequence = model.createSequence();
      const context = [1, ...hypothesis.tokens.slice(0, -1)];
      const { logits } = await sequence.forward({ tokens: Int32Array.from(context) });
      sequence.dispose();
      hypothesis.tokens.forEach((token, i) => {
        const row = logits.subarray(i * 16, (i + 1) * 16);
        const max = Math.max(...row);
        const logSum = Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
        expect(perToken[i]).toBeCloseTo(row[token] - max - logSum, 4);
      });
    }
  });
});
