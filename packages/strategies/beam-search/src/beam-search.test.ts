import {
  AbortedError,
  chain,
  createDecoder,
  mockModel,
  logSoftmax,
  noRepeatNgram,
  repetitionPenalty,
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type CausalLM,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { BeamHypotheses } from './beam-hypotheses.js';
import { beamSearch, type BeamSearchOptions } from './index.js';

/** Runs a beam search strategy through `decoder.search()` (the old `generate(args)` shape, as the tests use it). */
async function searchOf(
  strategy: Strategy,
  args: {
    model: CausalLM;
    prompt: { tokens: readonly number[] };
    maxTokens: number;
    processors?: readonly LogitsProcessor<unknown>[];
    signal?: AbortSignal;
  },
) {
  const result = await createDecoder({ model: args.model, processors: args.processors })
    .use(strategy)
    .search(args.prompt, { maxTokens: args.maxTokens, signal: args.signal });
  return {
    hypotheses: result.hypotheses,
    forwardPasses: result.stats.forwardPasses,
    forwardMode: result.details.forwardMode,
  };
}

/** Next-token log-probabilities after `context`, computed from scratch (no KV reuse). */
async function logProbabilitiesAfter(
  model: CausalLM,
  context: readonly number[],
  processor: LogitsProcessor<unknown>,
  state: unknown,
): Promise<Float32Array> {
  const vocab = model.info.vocabSize;
  const sequence = model.createSequence();
  const { logits } = await sequence.forward({ tokens: Int32Array.from(context) });
  sequence.dispose();
  const row = logits.slice((context.length - 1) * vocab, context.length * vocab);
  processor.process(row, state);
  return logSoftmax(row);
}

/** Every `horizon`-token continuation with its summed log-probability, best first (no EOS in the model). */
async function exhaustive(
  model: CausalLM,
  prompt: number[],
  horizon: number,
): Promise<{ tokens: number[]; logProbability: number }[]> {
  const out: { tokens: number[]; logProbability: number }[] = [];
  const processor = chain();
  async function visit(tokens: number[], sum: number): Promise<void> {
    if (tokens.length === horizon) return void out.push({ tokens, logProbability: sum });
    const row = await logProbabilitiesAfter(
      model,
      [...prompt, ...tokens],
      processor,
      processor.init([]),
    );
    for (let token = 0; token < row.length; token++)
      await visit([...tokens, token], sum + row[token]);
  }
  await visit([], 0);
  return out.sort((a, b) => b.logProbability - a.logProbability);
}

/**
 * An independent, deliberately naive Hugging Face-style beam search: full re-forward of every beam each
 * step, candidates sorted globally. The engine (tries, forks, KV commits) must match it exactly.
 */
async function referenceBeamSearch(
  model: CausalLM,
  prompt: number[],
  {
    numBeams,
    maxTokens,
    lengthPenalty = 1,
    earlyStopping = false,
    processors = [],
    numReturnSequences = 1,
  }: {
    numBeams: number;
    maxTokens: number;
    lengthPenalty?: number;
    earlyStopping?: boolean | 'never';
    processors?: LogitsProcessor<unknown>[];
    numReturnSequences?: number;
  },
) {
  const processor: LogitsProcessor<unknown> = chain(...processors);
  const eos = new Set(model.info.eosTokenIds);
  const finished = new BeamHypotheses(numBeams, lengthPenalty, earlyStopping, maxTokens);
  let beams = [{ tokens: [] as number[], score: 0, state: processor.init(prompt) as unknown }];
  let done = false;
  for (let step = 1; step <= maxTokens && !done; step++) {
    const candidates: { score: number; beam: number; token: number }[] = [];
    for (const [index, beam] of beams.entries()) {
      const row = await logProbabilitiesAfter(
        model,
        [...prompt, ...beam.tokens],
        processor,
        beam.state,
      );
      row.forEach(
        (value, token) =>
          value > -Infinity && candidates.push({ score: beam.score + value, beam: index, token }),
      );
    }
    candidates.sort((a, b) => b.score - a.score || a.beam - b.beam || a.token - b.token);
    const top = candidates.slice(0, Math.max(2, 1 + eos.size) * numBeams);
    const next: typeof beams = [];
    for (const [rank, candidate] of top.entries()) {
      if (next.length === numBeams) break;
      const parent = beams[candidate.beam];
      if (eos.has(candidate.token)) {
        if (rank < numBeams)
          finished.add([...parent.tokens, candidate.token], candidate.score, candidate.score);
      } else {
        next.push({
          tokens: [...parent.tokens, candidate.token],
          score: candidate.score,
          state: processor.advance(parent.state, candidate.token),
        });
      }
    }
    done = next.length === 0 || finished.isDone(top[0].score, step);
    beams = next;
  }
  if (!done) for (const beam of beams) finished.add(beam.tokens, beam.score, beam.score);
  return [...finished.hypotheses].sort((a, b) => b.score - a.score).slice(0, numReturnSequences);
}

const modes: BeamSearchOptions['forwardMode'][] = ['tree', 'per-beam', 'auto'];

describe('beamSearch', () => {
  it.each(modes)(
    'equals exhaustive search on a toy model when numBeams ≥ V^(horizon-1) (%s)',
    async forwardMode => {
      // With V = 8, horizon 3 and 64 beams, every 2-token prefix survives, so the 64 hypotheses are exactly
      // the 64 best of all 512 continuations.
      const model = toyModel({ vocabSize: 8, seed: 3, copyBias: 2 });
      const prompt = [1, 2, 1];
      const truth = await exhaustive(model, prompt, 3);
      const { hypotheses } = await searchOf(
        beamSearch({
          numBeams: 64,
          numReturnSequences: 64,
          forwardMode,
          maxTreeRows: 40,
        }),
        { model, prompt: { tokens: prompt }, maxTokens: 3 },
      );
      expect(hypotheses.map(h => h.tokens)).toEqual(truth.slice(0, 64).map(t => t.tokens));
      hypotheses.forEach((h, i) =>
        expect(h.logProbability).toBeCloseTo(truth[i].logProbability, 5),
      );
      hypotheses.forEach(h => expect(h.score).toBeCloseTo((h.logProbability ?? Number.NaN) / 3, 5));
    },
  );

  it('the best hypothesis never scores above the exhaustive optimum, for any width', async () => {
    const model = toyModel({ vocabSize: 8, seed: 9, copyBias: 2 });
    const truth = await exhaustive(model, [4, 5], 4);
    for (const numBeams of [1, 2, 3, 5, 8]) {
      const { hypotheses } = await searchOf(beamSearch({ numBeams }), {
        model,
        prompt: { tokens: [4, 5] },
        maxTokens: 4,
      });
      expect(hypotheses[0].logProbability).toBeLessThanOrEqual(truth[0].logProbability + 1e-5);
    }
    const wide = await searchOf(beamSearch({ numBeams: 64 }), {
      model,
      prompt: { tokens: [4, 5] },
      maxTokens: 4,
    });
    expect(wide.hypotheses[0].tokens).toEqual(truth[0].tokens); // V^(4-1) = 512 > 64, but the optimum survives here
  });

  const settings = [
    { numBeams: 3, maxTokens: 12 },
    { numBeams: 4, maxTokens: 15, lengthPenalty: 0.5, numReturnSequences: 3 },
    {
      numBeams: 4,
      maxTokens: 15,
      lengthPenalty: 2,
      earlyStopping: 'never' as const,
      numReturnSequences: 4,
    },
    { numBeams: 2, maxTokens: 15, earlyStopping: true },
    { numBeams: 5, maxTokens: 10, lengthPenalty: -1, numReturnSequences: 2 },
  ];
  it.each(settings.flatMap(setting => modes.map(forwardMode => ({ ...setting, forwardMode }))))(
    'matches a naive reference beam search with EOS, processors and options %o',
    async setting => {
      for (const seed of [1, 2, 3]) {
        const model = toyModel({ vocabSize: 12, seed, copyBias: 2, eosTokenIds: [3, 7] });
        for (const prompt of [[0], [1, 2, 1, 2], [5, 6, 5]]) {
          const processors = () => [repetitionPenalty(1.3), noRepeatNgram(3)];
          const reference = await referenceBeamSearch(model, prompt, {
            ...setting,
            processors: processors(),
          });
          const { hypotheses } = await searchOf(beamSearch({ ...setting, maxTreeRows: 6 }), {
            model,
            prompt: { tokens: prompt },
            maxTokens: setting.maxTokens,
            processors: processors(),
          });
          expect(
            hypotheses.map(h => h.tokens),
            `seed ${seed} prompt ${prompt}`,
          ).toEqual(reference.map(h => h.tokens));
          hypotheses.forEach((h, i) => expect(h.score).toBeCloseTo(reference[i].score, 5));
        }
      }
    },
  );

  it('scores all beams with one tree forward per step', async () => {
    const model = toyModel({ vocabSize: 12, seed: 2, copyBias: 1 });
    const result = await searchOf(beamSearch({ numBeams: 4, forwardMode: 'tree' }), {
      model,
      prompt: { tokens: [1, 2, 3] },
      maxTokens: 10,
    });
    expect(result.forwardPasses).toBe(1 + 10); // prefill + one per step
    const perBeam = await searchOf(beamSearch({ numBeams: 4, forwardMode: 'per-beam' }), {
      model,
      prompt: { tokens: [1, 2, 3] },
      maxTokens: 10,
    });
    expect(perBeam.forwardPasses).toBe(1 + 1 + 4 * 9); // prefill, one beam at step 1, then four per step
    expect(perBeam.hypotheses[0].tokens).toEqual(result.hypotheses[0].tokens);
  });

  it('auto mode switches to per-beam forwards when the trie grows past maxTreeRows', async () => {
    const model = toyModel({ vocabSize: 12, seed: 5, copyBias: 0 });
    const auto = await searchOf(beamSearch({ numBeams: 4, maxTreeRows: 8 }), {
      model,
      prompt: { tokens: [1] },
      maxTokens: 20,
    });
    expect(auto.forwardMode).toBe('per-beam');
    const tree = await searchOf(beamSearch({ numBeams: 4, forwardMode: 'tree' }), {
      model,
      prompt: { tokens: [1] },
      maxTokens: 20,
    });
    expect(auto.hypotheses[0].tokens).toEqual(tree.hypotheses[0].tokens);
  });

  it('streams the best hypothesis through a decoder; numBeams 1 is greedy', async () => {
    const model = toyModel({ vocabSize: 10, seed: 4, copyBias: 2, eosTokenIds: [2] });
    const search = beamSearch({ numBeams: 3 });
    const { hypotheses } = await searchOf(search, {
      model,
      prompt: { tokens: [1, 4] },
      maxTokens: 16,
    });
    const streamed = await createDecoder({ model })
      .use(search)
      .generate({ tokens: [1, 4] }, { maxTokens: 16 });
    expect(streamed.tokens).toEqual(hypotheses[0].tokens);
    const greedy = await createDecoder({ model }).generate({ tokens: [1, 4] }, { maxTokens: 16 });
    const width1 = await createDecoder({ model })
      .use(beamSearch({ numBeams: 1 }))
      .generate({ tokens: [1, 4] }, { maxTokens: 16 });
    expect(width1.tokens).toEqual(greedy.tokens);
  });

  it('leaves the decoder sequence at the prompt and counts tree forwards in the stats', async () => {
    const model = toyModel({ vocabSize: 10, seed: 4, copyBias: 2 });
    const result = await createDecoder({ model })
      .use(beamSearch({ numBeams: 2, forwardMode: 'tree' }))
      .generate({ tokens: [1, 4, 5] }, { maxTokens: 8 });
    expect(result.stats.forwardPasses).toBe(1 + 8);
  });

  it('honours an abort signal', async () => {
    const model = toyModel({ vocabSize: 10, seed: 4 });
    const controller = new AbortController();
    controller.abort();
    await expect(
      searchOf(beamSearch(), {
        model,
        prompt: { tokens: [1] },
        maxTokens: 8,
        signal: controller.signal,
      }),
    ).rejects.toThrow(/abort/i);
  });

  it.each([
    [{ numBeams: 0 }, 'numBeams'],
    [{ numBeams: 2.5 }, 'numBeams'],
    [{ numBeams: 2, numReturnSequences: 3 }, 'numReturnSequences'],
    [{ lengthPenalty: Number.NaN }, 'lengthPenalty'],
    [{ earlyStopping: 'sometimes' as never }, 'earlyStopping'],
    [{ forwardMode: 'batched' as never }, 'forwardMode'],
    [{ maxTreeRows: 0 }, 'maxTreeRows'],
  ])('rejects %o', (options, argument) => {
    expect(() => beamSearch(options)).toThrow(InvalidArgumentError);
    try {
      beamSearch(options);
    } catch (error) {
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it("forwardMode 'tree' needs a tree-capable backend", async () => {
    const { mockModel } = await import('@decodekit/core');
    const model = mockModel({ vocabSize: 4, tree: false, logits: () => [0, 1, 2, 3] });
    await expect(
      searchOf(beamSearch({ forwardMode: 'tree' }), {
        model,
        prompt: { tokens: [1] },
        maxTokens: 2,
      }),
    ).rejects.toThrow(UnsupportedCapabilityError);
    const { hypotheses } = await searchOf(beamSearch({ numBeams: 2 }), {
      model,
      prompt: { tokens: [1] },
      maxTokens: 2,
    });
    expect(hypotheses[0].tokens).toEqual([3, 3]);
  });
});

describe('BeamHypotheses (Hugging Face semantics)', () => {
  it.each([
    // worst kept = -2/2 = -1; a running beam's best is -1.5 at length 3 → -0.5 > -1: not done (false)
    { earlyStopping: false, lengthPenalty: 1, best: -1.5, length: 3, expected: false },
    { earlyStopping: false, lengthPenalty: 1, best: -3.3, length: 3, expected: true },
    { earlyStopping: true, lengthPenalty: 1, best: -0.1, length: 3, expected: true },
    // 'never' with lp > 0 measures the best at maxTokens (10): -3.3 / 10 = -0.33 > -1: not done
    { earlyStopping: 'never' as const, lengthPenalty: 1, best: -3.3, length: 3, expected: false },
    { earlyStopping: 'never' as const, lengthPenalty: 1, best: -10.5, length: 3, expected: true },
  ])('isDone %o', ({ earlyStopping, lengthPenalty, best, length, expected }) => {
    const hypotheses = new BeamHypotheses(2, lengthPenalty, earlyStopping, 10);
    hypotheses.add([1, 2], -2, -2);
    expect(hypotheses.isDone(best, length)).toBe(false); // fewer than numBeams finished
    hypotheses.add([1, 3], -1, -1);
    expect(hypotheses.isDone(best, length)).toBe(expected);
  });

  it('keeps the numBeams best by length-penalized score', () => {
    const hypotheses = new BeamHypotheses(2, 1, false, 10);
    hypotheses.add([1], -1, -1); // -1
    hypotheses.add([1, 2, 3, 4], -2, -2); // -0.5
    hypotheses.add([1, 2], -4, -4); // -2: dropped
    hypotheses.add([1, 2, 3, 4, 5], -1, -1); // -0.2: replaces -1
    expect(hypotheses.hypotheses.map(h => h.score).sort((a, b) => a - b)).toEqual([-0.5, -0.2]);
  });
});

describe('forwards of forked beams go through the decoder', () => {
  it.each(['per-beam', 'auto'] as const)(
    'counts every forward (%s mode) and stops on abort',
    async forwardMode => {
      const model = toyModel({ vocabSize: 12, seed: 9 });
      const strategy = beamSearch({
        numBeams: 3,
        forwardMode: forwardMode === 'auto' ? 'auto' : 'per-beam',
        maxTreeRows: 1,
      });
      const before = model.forwardCalls.length;
      const result = await createDecoder({ model })
        .use(strategy)
        .generate({ tokens: [1, 2, 3] }, { maxTokens: 6 });
      const calls = model.forwardCalls.length - before;
      expect(calls).toBeGreaterThan(6); // one per live beam and step, not one per step
      expect(result.stats.forwardPasses).toBe(calls);

      // Abort from inside a fork's forward: the search must stop at the next forward it asks for.
      const controller = new AbortController();
      let rows = 0;
      const aborting = mockModel({
        vocabSize: 12,
        tree: false,
        logits: context => {
          rows += 1;
          if (rows === 12) controller.abort();
          return Float32Array.from({ length: 12 }, (_, token) =>
            Math.sin(token * 1.3 + (context.at(-1) ?? 0)),
          );
        },
      });
      const pending = createDecoder({ model: aborting })
        .use(beamSearch({ numBeams: 3, forwardMode: 'per-beam' }))
        .generate({ tokens: [1, 2, 3] }, { maxTokens: 50, signal: controller.signal });
      await expect(pending).rejects.toThrow(AbortedError);
      expect(aborting.forwardCalls.length).toBeLessThan(14);
    },
  );
});

describe('decoder.search() with beam search', () => {
  it('returns the numReturnSequences best with per-token log-probabilities of the processed distribution', async () => {
    const model = toyModel({ vocabSize: 12, seed: 6, copyBias: 2, eosTokenIds: [3] });
    const processors = [repetitionPenalty(1.3)];
    const options: BeamSearchOptions = { numBeams: 4, numReturnSequences: 3, forwardMode: 'tree' };
    const result = await createDecoder({ model, processors })
      .use(beamSearch(options))
      .search({ tokens: [1, 2, 1] }, { maxTokens: 6 });
    expect(result.hypotheses).toHaveLength(3);
    expect(result.tokens).toEqual(result.hypotheses[0].tokens);
    expect(result.details).toMatchObject({ forwardMode: 'tree' });
    expect(Number(result.details.forwardRows)).toBeGreaterThan(0);
    for (const hypothesis of result.hypotheses) {
      const perToken = hypothesis.tokenLogProbabilities ?? [];
      expect(perToken).toHaveLength(hypothesis.tokens.length);
      // Each one is the token's log-probability after its own prefix, computed from scratch.
      const processor = chain(...processors);
      let state = processor.init([1, 2, 1]);
      for (let i = 0; i < hypothesis.tokens.length; i++) {
        const context = [1, 2, 1, ...hypothesis.tokens.slice(0, i)];
        const row = await logProbabilitiesAfter(model, context, processor, state);
        expect(perToken[i]).toBeCloseTo(row[hypothesis.tokens[i]], 5);
        state = processor.advance(state, hypothesis.tokens[i]);
      }
      expect(hypothesis.logProbability).toBeCloseTo(
        perToken.reduce((sum, value) => sum + value, 0),
        10,
      );
    }
    // The deprecated generate() delegates to search(): same hypotheses, scores and forward count.
    const legacy = await beamSearch(options).generate({
      model,
      prompt: { tokens: [1, 2, 1] },
      maxTokens: 6,
      processors,
    });
    expect(legacy.hypotheses.map(h => [h.tokens, h.score])).toEqual(
      result.hypotheses.map(h => [h.tokens, h.score]),
    );
    expect(legacy.forwardPasses).toBe(result.stats.forwardPasses);
  });
});
