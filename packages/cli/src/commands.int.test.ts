/** The CLI commands end to end on stories260K (small sizes: these check wiring, not speed). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

describe('decodekit commands', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-cli-'));

  it('generate --json-schema prints an object that validates against the schema', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 12 },
        age: { type: 'integer', minimum: 1, maximum: 12 },
      },
      required: ['name', 'age'],
    };
    const file = join(work, 'schema.json');
    writeFileSync(file, JSON.stringify(schema));
    const out = await run([
      'generate',
      '--prompt',
      'Tom is',
      '--json-schema',
      file,
      '--temperature',
      '0',
      '--format',
      'json',
      '--max-tokens',
      '60',
    ]);
    const { completion } = JSON.parse(out) as { completion: string };
    const value = JSON.parse(completion) as { name: string; age: number };
    expect(typeof value.name).toBe('string');
    expect(value.name.length).toBeLessThanOrEqual(12);
    expect(Number.isInteger(value.age) && value.age >= 1 && value.age <= 12).toBe(true);
  });

  it('generate --regex constrains the completion', async () => {
    const out = await run([
      'generate',
      '--prompt',
      'The number is',
      '--regex',
      ' [0-9]{3}',
      '--format',
      'json',
      '--max-tokens',
      '10',
    ]);
    expect((JSON.parse(out) as { completion: string }).completion).toMatch(/^ [0-9]{3}$/);
  });

  it('generate --format json lists the ranked hypotheses of a search strategy', async () => {
    const out = await run([
      'generate',
      '--prompt',
      'Once upon a time',
      '--strategy',
      'beam-search:numBeams=3,numReturnSequences=3',
      '--format',
      'json',
      '--max-tokens',
      '12',
    ]);
    const result = JSON.parse(out) as {
      completion: string;
      tokens: number[];
      hypotheses: { completion: string; tokens: number[]; score: number; logProbability: number }[];
    };
    expect(result.hypotheses).toHaveLength(3);
    expect(result.hypotheses[0].tokens).toEqual(result.tokens);
    expect(result.hypotheses[0].completion).toBe(result.completion);
    const scores = result.hypotheses.map(hypothesis => hypothesis.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const hypothesis of result.hypotheses) expect(hypothesis.logProbability).toBeLessThan(0);
    // Any other strategy gives its one output, without a score.
    const plain = JSON.parse(
      await run([
        'generate',
        '--prompt',
        'Once upon a time',
        '--format',
        'json',
        '--max-tokens',
        '8',
      ]),
    ) as { completion: string; hypotheses: { completion: string; score: number | null }[] };
    expect(plain.hypotheses).toEqual([
      { completion: plain.completion, tokens: expect.any(Array), score: null },
    ]);
  });

  it('bench writes bench.json, bench.md and bench.svg with zero mismatches', async () => {
    const prompts = join(work, 'prompts.jsonl');
    writeFileSync(
      prompts,
      [
        '{"id":"a","prompt":"Once upon a time","max_tokens":24}',
        '{"id":"b","prompt":"Tom had a red ball.","max_tokens":24}',
      ].join('\n'),
    );
    const out = join(work, 'bench');
    await run([
      'bench',
      '--prompts',
      prompts,
      '--strategies',
      'ar,prompt-lookup,token-recycling',
      '--out',
      out,
      '--no-cost-curve',
      '--no-transformers',
    ]);
    const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as {
      summary: { strategy: string; mismatches: number }[];
      runs: unknown[];
    };
    expect(bench.summary.map(row => row.strategy)).toEqual([
      'ar',
      'prompt-lookup',
      'token-recycling',
    ]);
    expect(bench.summary.every(row => !row.mismatches)).toBe(true);
    expect(bench.runs).toHaveLength(6);
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).toContain('| strategy |');
    expect(readFileSync(join(out, 'bench.svg'), 'utf8').trimStart().startsWith('<svg')).toBe(true);

    // --no-adaptive: every drafter verifies its configured draft; the names say so.
    const fixed = join(work, 'bench-fixed');
    await run([
      'bench',
      '--prompts',
      prompts,
      '--limit',
      '1',
      '--strategies',
      'ar,prompt-lookup,token-recycling:topK=4,prompt-lookup:adaptive=true',
      '--out',
      fixed,
      '--no-cost-curve',
      '--no-transformers',
      '--no-adaptive',
    ]);
    const names = (
      JSON.parse(readFileSync(join(fixed, 'bench.json'), 'utf8')) as {
        summary: { strategy: string }[];
      }
    ).summary.map(row => row.strategy);
    expect(names).toEqual([
      'ar',
      'prompt-lookup:adaptive=false',
      'token-recycling:topK=4;adaptive=false',
      'prompt-lookup:adaptive=true',
    ]);
  });

  it('bench measures the cost curve first and reports ceiling, efficiency and the threads sweep', async () => {
    const prompts = join(work, 'prompts-ceiling.jsonl');
    writeFileSync(
      prompts,
      [
        '{"id":"a","prompt":"Once upon a time","max_tokens":16}',
        '{"id":"b","prompt":"Tom had a red ball.","max_tokens":16}',
      ].join('\n'),
    );
    const out = join(work, 'bench-ceiling');
    await run([
      'bench',
      '--prompts',
      prompts,
      '--limit',
      '1',
      '--strategies',
      'ar,prompt-lookup',
      '--out',
      out,
      '--threads',
      '1,2',
      '--no-random-model',
      '--no-transformers',
    ]);
    const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as {
      summary: {
        strategy: string;
        ceiling: number | null;
        efficiency: number | null;
        rows_mean: number;
      }[];
      runs: { forward_rows: Record<string, number> }[];
      threads: Record<string, { chosen: number; sweep: { threads: number }[] }>;
    };
    expect(bench.runs).toHaveLength(2); // --limit 1
    const [ar, lookup] = bench.summary;
    expect(ar).toMatchObject({ ceiling: 1, efficiency: 1, rows_mean: 1 });
    expect(lookup.ceiling).toBeGreaterThan(0);
    expect(lookup.efficiency).toBeCloseTo(
      (lookup as unknown as { speedup_median: number }).speedup_median /
        (lookup.ceiling ?? Number.NaN),
      10,
    );
    const [choice] = Object.values(bench.threads);
    expect(choice.sweep.map(entry => entry.threads)).toEqual([1, 2]);
    expect([1, 2]).toContain(choice.chosen);
    const markdown = readFileSync(join(out, 'bench.md'), 'utf8');
    expect(markdown).toContain('| ceiling | efficiency |');
    expect(markdown).toContain('## ONNX Runtime intra-op threads');
  });

  it('convert --twin writes a twin that bench labels as one', async () => {
    const twin = join(work, 'twin-25M');
    await run(['convert', 'stories260K', '--twin', '25M', '--out', twin]);
    const config = JSON.parse(readFileSync(join(twin, 'config.json'), 'utf8')) as {
      decodekit: { twin: { label: string } };
    };
    expect(config.decodekit.twin.label).toBe('stories260K function, 25M-parameter cost');
    const prompts = join(work, 'prompts-twin.jsonl');
    writeFileSync(prompts, '{"id":"a","prompt":"Once upon a time","max_tokens":8}\n');
    const out = join(work, 'bench-twin');
    await run([
      'bench',
      '--model',
      twin,
      '--prompts',
      prompts,
      '--strategies',
      'ar,prompt-lookup',
      '--out',
      out,
      '--threads',
      '1',
      '--no-cost-curve',
      '--no-transformers',
    ]);
    const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as {
      meta: { model_label: string };
      summary: { mismatches: number }[];
    };
    expect(bench.meta.model_label).toBe('stories260K function, 25M-parameter cost');
    expect(bench.summary.every(row => row.mismatches === 0)).toBe(true);
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).toContain(
      '(twin: stories260K function, 25M-parameter cost)',
    );
    await expect(
      run(['convert', 'stories260K', '--twin', 'huge', '--out', join(work, 'bad')]),
    ).rejects.toThrow(/25M, 100M or 400M/);
    await expect(
      run(['convert', join(work, 'nothing-here.bin'), '--twin', '25M', '--out', join(work, 'bad')]),
    ).rejects.toThrow(/no llama2.c checkpoint/);
  });

  it('eval writes eval.json and eval.md', async () => {
    const prompts = join(work, 'eval.jsonl');
    writeFileSync(
      prompts,
      ['{"id":"a","prompt":"Once upon a time"}', '{"id":"b","prompt":"Lily wanted a cake."}'].join(
        '\n',
      ),
    );
    const out = join(work, 'eval');
    await run([
      'eval',
      '--prompts',
      prompts,
      '--strategies',
      'greedy,momentum-decoding',
      '--max-tokens',
      '16',
      '--out',
      out,
    ]);
    const result = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as {
      summary: { strategy: string; perplexity: number }[];
    };
    expect(result.summary.map(row => row.strategy)).toEqual(['greedy', 'momentum-decoding']);
    expect(result.summary.every(row => row.perplexity > 1)).toBe(true);
  });

  it('unknown strategies and options are rejected with the list of what is accepted', async () => {
    await expect(run(['generate', '--prompt', 'x', '--strategy', 'nope'])).rejects.toThrow(
      /known: ar/,
    );
    await expect(
      run(['generate', '--prompt', 'x', '--strategy', 'token-recycling:width=3']),
    ).rejects.toThrow(/accepts: budget/);
  });
});

describe('decodekit aded build', () => {
  it('counts tri-grams of a corpus into a store the aded strategy loads', async () => {
    const work = mkdtempSync(join(tmpdir(), 'decodekit-aded-'));
    const corpus = join(work, 'corpus.txt');
    writeFileSync(
      corpus,
      'Once upon a time there was a cat.\n\nThe cat liked to play with a ball.\n\nOnce upon a time there was a dog.',
    );
    const store = join(work, 'store.aded');
    expect(await run(['aded', 'build', '--corpus', corpus, '--out', store])).toMatch(/3 documents/);
    const out = await run([
      'generate',
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '20',
      '--strategy',
      `aded:store=${store}`,
      '--format',
      'json',
    ]);
    const plain = await run([
      'generate',
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '20',
      '--format',
      'json',
    ]);
    expect((JSON.parse(out) as { tokens: number[] }).tokens).toEqual(
      (JSON.parse(plain) as { tokens: number[] }).tokens,
    );
  });
});
