import { assert, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  mockModel,
  speculative,
  type Drafter,
  type DraftTree,
  type Strategy,
} from '@decodekit/core';
import { AR, runBench, summarize, type BenchProgress, type BenchRun } from './run-bench.js';

const VOCAB = 16;
/** The greedy next token of the mock model: a fixed function of the last token. */
const next = (last: number): number => (last * 5 + 3) % VOCAB;

function model(options: { tree?: boolean } = {}) {
  return mockModel({
    vocabSize: VOCAB,
    tree: options.tree,
    logits: context => {
      const logits = new Float32Array(VOCAB);
      logits[next(context[context.length - 1])] = 5;
      return logits;
    },
  });
}

/** A drafter that knows the model: proposes `depth` correct tokens, so every draft token is accepted. */
function oracle(depth = 3): Drafter {
  return {
    name: 'oracle',
    propose({ tokens, maxNodes, remaining }): DraftTree {
      const draft: number[] = [];
      let last = tokens[tokens.length - 1];
      for (let i = 0; i < Math.min(depth, maxNodes, remaining); i++)
        draft.push((last = next(last)));
      return { tokens: Int32Array.from(draft), parents: Int32Array.from(draft, (_, i) => i - 1) };
    },
  };
}

/** Claims to be lossless but emits a constant token: every run at T = 0 is a mismatch. */
function liar(): Strategy {
  return {
    kind: 'strategy',
    name: 'liar',
    lossless: true,
    async run(context) {
      await context.forward({ tokens: Int32Array.of(context.tokens[context.tokens.length - 1]) });
      context.sequence.commit([0]);
      while (context.emit(0, 'target')) {
        // keeps emitting 0 until maxTokens
      }
    },
  };
}

const prompts = [
  { id: 'a', prompt: { tokens: [1, 2] }, max_tokens: 8 },
  { id: 'b', prompt: { tokens: [4] }, max_tokens: 6 },
];

describe('runBench', () => {
  it('interleaves AR and strategies per prompt and repeat, after one warm-up each', async () => {
    const progress: BenchProgress[] = [];
    const result = await runBench({
      model: model(),
      strategies: [
        {
          name: 'spec',
          lossless: true,
          create: () => speculative({ drafter: oracle(), adaptive: false }),
        },
        { name: 'liar', lossless: true, create: liar },
      ],
      prompts,
      repeats: 2,
      onProgress: event => progress.push(event),
    });
    const order = (phase: string) =>
      progress
        .filter(event => event.phase === phase)
        .map(event => `${event.repeat}:${event.prompt_id}:${event.strategy}`);
    expect(order('warmup')).toEqual(['0:a:ar', '0:a:spec', '0:a:liar']);
    const expected = [0, 1].flatMap(repeat =>
      ['a', 'b'].flatMap(id => [AR, 'spec', 'liar'].map(name => `${repeat}:${id}:${name}`)),
    );
    expect(order('run')).toEqual(expected);
    expect(result.runs.map(run => `${run.repeat}:${run.prompt_id}:${run.strategy}`)).toEqual(
      expected,
    );
    expect(progress.at(-1)).toMatchObject({ completed: 11, total: 12 });
  });

  it('records identity, τ and speedup per run, and summarizes per strategy', async () => {
    const result = await runBench({
      model: model(),
      strategies: [
        {
          name: 'spec',
          lossless: true,
          create: () => speculative({ drafter: oracle(3), adaptive: false }),
        },
        { name: 'liar', lossless: true, create: liar },
      ],
      prompts,
      warmup: false,
    });
    const spec = result.runs.filter(run => run.strategy === 'spec');
    expect(spec.map(run => run.tokens)).toEqual([8, 6]);
    expect(spec.every(run => run.identical_to_ar === true)).toBe(true);
    // 3 accepted draft tokens + 1 bonus per forward: 8 tokens in 2 forwards, 6 in 2 (4 + 2).
    expect(spec.map(run => run.tau)).toEqual([4, 3]);
    expect(
      spec.every(
        run => run.acceptance_rate === 1 && run.verify_ms !== null && run.draft_ms !== null,
      ),
    ).toBe(true);
    const ar = result.runs.filter(run => run.strategy === AR);
    expect(
      ar.every(run => run.speedup_vs_ar === 1 && run.tau === 1 && run.identical_to_ar === true),
    ).toBe(true);
    expect(ar.map(run => run.forward_passes)).toEqual([9, 6]); // prefill + one per token

    const byName = Object.fromEntries(result.summary.map(row => [row.strategy, row]));
    expect(Object.keys(byName)).toEqual([AR, 'spec', 'liar']);
    expect(byName.spec).toMatchObject({
      runs: 2,
      mismatches: 0,
      tau_mean: 3.5,
      acceptance_rate_mean: 1,
    });
    expect(byName.liar.mismatches).toBe(2);
    // AR is its own reference: its speedups are exactly 1; every generation used some CPU.
    expect(ar.every(run => run.cpu_speedup_vs_ar === 1)).toBe(true);
    expect(result.runs.every(run => run.cpu_ms > 0)).toBe(true);
    expect(byName.ar).toMatchObject({
      speedup_median: 1,
      cpu_speedup_median: 1,
      draft_fraction: null,
      acceptance_rate_mean: null,
    });
    expect(byName.spec.draft_fraction).toBeGreaterThanOrEqual(0);
    expect(byName.spec.draft_fraction).toBeLessThanOrEqual(1);
    expect(byName.spec.peak_rss_mb).toBeGreaterThan(0);
    expect(result.meta).toMatchObject({
      model: 'mock',
      backend: 'mock',
      repeats: 1,
      temperature: 0,
      maxTokens: null,
    });
    expect(result.meta.strategies).toEqual([AR, 'spec', 'liar']);
  });

  it('counts the rows of every decode-time forward and, given a cost curve, the ceiling and efficiency', async () => {
    const costCurve = [
      { k: 1, ms_median: 1, relative: 1 },
      { k: 2, ms_median: 1.2, relative: 1.2 },
      { k: 4, ms_median: 2, relative: 2 },
    ];
    const result = await runBench({
      model: model(),
      strategies: [
        {
          name: 'spec',
          lossless: true,
          create: () => speculative({ drafter: oracle(3), adaptive: false }),
        },
      ],
      prompts,
      warmup: false,
      costCurve,
      modelLabel: 'mock function, 1M-parameter cost',
    });
    const [arA, specA, arB, specB] = result.runs;
    expect(arA.forward_rows).toEqual({ 1: 8 }); // 8 single-row steps after the prefill
    expect(arA.ceiling).toBe(1);
    // Every target forward after the prefill is counted, with its rows.
    expect(Object.keys(specA.forward_rows).some(rows => Number(rows) > 1)).toBe(true);
    expect(Object.values(specA.forward_rows).reduce((sum, count) => sum + count, 0)).toBe(
      specA.forward_passes - 1,
    );
    for (const run of [specA, specB]) {
      let cost = 0;
      let forwards = 0;
      for (const [rows, count] of Object.entries(run.forward_rows)) {
        forwards += count;
        cost +=
          count *
          (Number(rows) <= 4 ? [0, 1, 1.2, 1.6, 2][Number(rows)] : 2 + (Number(rows) - 4) * 0.4);
      }
      expect(run.ceiling).toBeCloseTo((run.tau * forwards) / cost, 10);
    }
    expect(arB.ceiling).toBe(1);
    const spec = result.summary[1];
    assert(
      specA.ceiling != null && specB.ceiling != null && spec.ceiling != null,
      'speculative runs report a ceiling',
    );
    expect(spec.ceiling).toBeCloseTo((specA.ceiling + specB.ceiling) / 2, 10);
    expect(spec.efficiency).toBeCloseTo(spec.speedup_median / spec.ceiling, 10);
    expect(spec.rows_mean).toBeGreaterThan(1);
    expect(result.summary[0]).toMatchObject({ rows_mean: 1, ceiling: 1 });
    expect(result.meta.model_label).toBe('mock function, 1M-parameter cost');
  });

  it('has no ceiling without a cost curve', async () => {
    const result = await runBench({ model: model(), strategies: [], prompts, warmup: false });
    expect(result.runs.every(run => run.ceiling === null)).toBe(true);
    expect(result.summary[0]).toMatchObject({ ceiling: null, efficiency: null });
    expect(result.meta.model_label).toBeUndefined();
  });

  it('maxTokens overrides the prompts, and identity is null when sampling', async () => {
    const result = await runBench({
      model: model(),
      strategies: [
        {
          name: 'spec',
          lossless: true,
          create: () => speculative({ drafter: oracle(), adaptive: false }),
        },
      ],
      prompts,
      maxTokens: 3,
      temperature: 0.7,
      warmup: false,
    });
    expect(result.runs.every(run => run.tokens === 3 && run.identical_to_ar === null)).toBe(true);
    expect(result.summary.every(row => row.mismatches === 0)).toBe(true);
  });

  it('fails fast on bad options and on strategies the model cannot run', async () => {
    const base = { model: model(), prompts, warmup: false };
    const spec = {
      name: 'spec',
      lossless: true,
      create: () => speculative({ drafter: oracle(), adaptive: false }),
    };
    await expect(runBench({ ...base, strategies: [{ ...spec, name: AR }] })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(runBench({ ...base, strategies: [spec, spec] })).rejects.toThrow(/used twice/);
    await expect(runBench({ ...base, strategies: [], repeats: 0 })).rejects.toThrow(/repeats/);
    await expect(runBench({ ...base, strategies: [], prompts: [] })).rejects.toThrow(/prompts/);
    await expect(
      runBench({ ...base, strategies: [], prompts: [prompts[0], prompts[0]] }),
    ).rejects.toThrow(/twice/);
    const needsHidden: Strategy = {
      kind: 'strategy',
      name: 'hidden',
      lossless: true,
      requires: ['hiddenStates'],
      run: async () => undefined,
    };
    await expect(
      runBench({
        ...base,
        strategies: [{ name: 'hidden', lossless: true, create: () => needsHidden }],
      }),
    ).rejects.toThrow(UnsupportedCapabilityError);
  });
});

describe('summarize', () => {
  const run = (strategy: string, values: Partial<BenchRun>): BenchRun => ({
    strategy,
    prompt_id: 'p',
    repeat: 0,
    tokens: 10,
    forward_passes: 5,
    tau: 2,
    tokens_per_s: 100,
    decode_ms: 100,
    prefill_ms: 1,
    speedup_vs_ar: 1,
    cpu_ms: 50,
    cpu_speedup_vs_ar: 1,
    identical_to_ar: true,
    draft_ms: null,
    verify_ms: null,
    acceptance_rate: null,
    reason: 'length',
    forward_rows: {},
    ceiling: null,
    ...values,
  });

  it('takes medians, means, mismatches and the share of decode time outside verification', () => {
    const runs = [
      run('s', {
        speedup_vs_ar: 1.5,
        cpu_speedup_vs_ar: 1.2,
        tau: 2,
        tokens_per_s: 300,
        identical_to_ar: true,
        decode_ms: 100,
        verify_ms: 80,
        acceptance_rate: 0.5,
      }),
      run('s', {
        speedup_vs_ar: 0.5,
        cpu_speedup_vs_ar: 0.9,
        tau: 3,
        tokens_per_s: 100,
        identical_to_ar: false,
        decode_ms: 300,
        verify_ms: 120,
        acceptance_rate: 0.7,
      }),
      run('s', {
        speedup_vs_ar: 2.5,
        cpu_speedup_vs_ar: 1.6,
        tau: 4,
        tokens_per_s: 200,
        identical_to_ar: false,
        decode_ms: 100,
        verify_ms: 100,
        acceptance_rate: 0.9,
      }),
      run('s', {
        speedup_vs_ar: 2.0,
        cpu_speedup_vs_ar: 1.4,
        tau: 5,
        tokens_per_s: 150,
        identical_to_ar: true,
        decode_ms: 0,
        verify_ms: 0,
        acceptance_rate: 0.1,
      }),
      run('lossy', { identical_to_ar: false }),
    ];
    const [s, lossy] = summarize(
      runs,
      [
        { name: 's', lossless: true },
        { name: 'lossy', lossless: false },
      ],
      new Map([['s', 123.456]]),
    );
    expect(s).toMatchObject({
      runs: 4,
      speedup_median: 1.75,
      tau_mean: 3.5,
      tokens_per_s_median: 175,
      mismatches: 2,
      peak_rss_mb: 123.5,
    });
    expect(s.acceptance_rate_mean).toBeCloseTo(0.55, 10);
    expect(s.cpu_speedup_median).toBeCloseTo(1.3, 10);
    // (20 + 180 + 0 + 0) / (100 + 300 + 100 + 0)
    expect(s.draft_fraction).toBeCloseTo(0.4, 10);
    expect(lossy).toMatchObject({
      mismatches: 0,
      draft_fraction: null,
      acceptance_rate_mean: null,
    });
  });
});
