import { readFileSync } from 'node:fs';
import {
  createDecoder,
  InvalidArgumentError,
  mockModel,
  speculative,
  type DecodeStats,
} from '@decodekit/core';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, expect, it } from 'vitest';
import { fastDraftMetrics, recordDraftRun, type DraftRunLog } from './metrics.js';

const LOG = JSON.parse(
  readFileSync(new URL('./__fixtures__/run-log.json', import.meta.url), 'utf8'),
) as DraftRunLog;

describe('fastDraftMetrics on the fixed run log (the spec’s oracle: an offline computation)', () => {
  it('equals the hand computation', () => {
    // 6 target forwards, 17 tokens, 25 drafted, 13 accepted; c = 1/4.
    const metrics = fastDraftMetrics(LOG, { draft: 1, target: 4 });
    expect(metrics).toMatchObject({
      steps: 6,
      generatedTokens: 17,
      draftedTokens: 25,
      acceptedTokens: 13,
    });
    expect(metrics.acceptanceRate).toBeCloseTo(13 / 25, 12);
    expect(metrics.blockEfficiency).toBeCloseTo(17 / 6, 12);
    expect(metrics.meanDraftLength).toBeCloseTo(25 / 6, 12);
    expect(metrics.parameterRatio).toBe(0.25);
    // MBSU = τ / (1 + c·γ) = (17/6) / (1 + 0.25 · 25/6) = 17 / 12.25
    expect(metrics.memoryBoundSpeedup).toBeCloseTo(17 / 12.25, 12);
    expect(metrics.memoryBoundSpeedup).toBeCloseTo(1.387755, 6);
  });

  it('a free draft (c → 0) makes the memory-bound speedup the block efficiency', () => {
    const metrics = fastDraftMetrics(LOG, { draft: 1e-12, target: 1 });
    expect(metrics.memoryBoundSpeedup).toBeCloseTo(metrics.blockEfficiency, 9);
  });

  it.each([
    { parameters: { draft: 0, target: 4 }, argument: 'parameters' },
    { parameters: { draft: 1, target: -1 }, argument: 'parameters' },
  ])('refuses parameter counts $parameters', ({ parameters, argument }) => {
    expect(() => fastDraftMetrics(LOG, parameters)).toThrow(InvalidArgumentError);
    try {
      fastDraftMetrics(LOG, parameters);
    } catch (error) {
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('refuses a log without steps', () => {
    expect(() => fastDraftMetrics({ generations: [] }, { draft: 1, target: 2 })).toThrow(
      /record at least one speculative generation/,
    );
  });
});

describe('recordDraftRun', () => {
  // A target that counts up mod 8 and a draft that agrees except after multiples of 3.
  const target = mockModel({
    vocabSize: 8,
    logits: context => {
      const row = new Float32Array(8);
      row[(context[context.length - 1] + 1) % 8] = 5;
      return row;
    },
  });
  const draft = mockModel({
    vocabSize: 8,
    logits: context => {
      const last = context[context.length - 1];
      const row = new Float32Array(8);
      row[last % 3 === 0 ? (last + 2) % 8 : (last + 1) % 8] = 5;
      return row;
    },
  });

  it('logs a live run whose offline metrics equal the decoder’s own stats', async () => {
    const log: { generations: DraftRunLog['generations'][number][] } = { generations: [] };
    const all: DecodeStats[] = [];
    for (const [prompt, maxTokens] of [
      [[1, 2], 40],
      [[5], 17],
    ] as const) {
      const decoder = createDecoder({ model: target }).use(
        speculative({ drafter: draftModel({ model: draft, numAssistantTokens: 4 }) }),
      );
      for await (const event of recordDraftRun(
        decoder.stream({ tokens: [...prompt] }, { maxTokens, temperature: 0 }),
        log,
      )) {
        if (event.type === 'done') all.push(event.stats);
      }
    }
    expect(log.generations).toHaveLength(2);
    for (const [i, generation] of log.generations.entries()) {
      const one = fastDraftMetrics({ generations: [generation] }, { draft: 1, target: 2 });
      const stats = all[i];
      expect(one.generatedTokens + generation.prefillTokens).toBe(stats.generatedTokens);
      expect(one.draftedTokens).toBe(stats.draftTokens);
      expect(one.acceptedTokens).toBe(stats.acceptedDraftTokens);
      expect(one.acceptanceRate).toBeCloseTo(stats.acceptanceRate ?? Number.NaN, 12);
      expect(one.blockEfficiency * one.steps + generation.prefillTokens).toBe(
        stats.generatedTokens,
      );
      expect(one.blockEfficiency).toBeCloseTo(stats.meanAcceptedTokens, 12);
    }
    // The run is not trivial: drafts were both accepted and rejected.
    const total = fastDraftMetrics(log, { draft: 1, target: 2 });
    expect(total.acceptanceRate).toBeGreaterThan(0.2);
    expect(total.acceptanceRate).toBeLessThan(1);
  });
});
