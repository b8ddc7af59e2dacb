import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mockModel, speculative, type DraftTree } from '@decodekit/core';
import { runBench, type BenchResult } from './run-bench.js';
import { renderMarkdown, renderSvg, writeReports } from './write-reports.js';

const VOCAB = 8;
const next = (last: number): number => (last + 3) % VOCAB;
const model = mockModel({
  vocabSize: VOCAB,
  logits: context =>
    Float32Array.from({ length: VOCAB }, (_, id) =>
      id === next(context[context.length - 1]) ? 1 : 0,
    ),
});

async function benchResult(): Promise<BenchResult> {
  const result = await runBench({
    model,
    strategies: [
      {
        name: 'chain-2',
        lossless: true,
        create: () =>
          speculative({
            adaptive: false,
            drafter: {
              name: 'two',
              propose: ({ tokens }): DraftTree => {
                const first = next(tokens[tokens.length - 1]);
                return { tokens: Int32Array.of(first, next(first)), parents: Int32Array.of(-1, 0) };
              },
            },
          }),
      },
    ],
    prompts: [{ id: 'p0', prompt: { tokens: [1] }, max_tokens: 12 }],
    warmup: false,
  });
  result.cost_curve = {
    'tiny <model>': [
      { k: 1, ms_median: 0.5, relative: 1 },
      { k: 8, ms_median: 0.7, relative: 1.4 },
    ],
  };
  return result;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('writeReports', () => {
  it('writes valid bench.json, bench.md with tables, and one bench.svg', async () => {
    const result = await benchResult();
    const dir = await mkdtemp(join(tmpdir(), 'decodekit-bench-'));
    dirs.push(dir);
    const paths = await writeReports(result, join(dir, 'nested', 'out'));

    const json = JSON.parse(await readFile(paths.json, 'utf8'));
    expect(json.meta).toMatchObject({ model: 'mock', backend: 'mock', temperature: 0, repeats: 1 });
    expect(typeof json.meta.machine).toBe('string');
    expect(json.summary.map((row: { strategy: string }) => row.strategy)).toEqual([
      'ar',
      'chain-2',
    ]);
    expect(json.runs).toHaveLength(2);
    expect(json.cost_curve['tiny <model>'][1]).toEqual({ k: 8, ms_median: 0.7, relative: 1.4 });

    const markdown = await readFile(paths.markdown, 'utf8');
    expect(markdown).toContain('| strategy | lossless | speedup (median) |');
    expect(markdown).toMatch(/^\| chain-2 \| yes \| [\d.]+× \| 3\.00 \|/m);
    expect(markdown).toContain('| tiny <model> | 0.50 (1.00×) | 0.70 (1.40×) |');
    expect(markdown).not.toContain('transformers.js');

    const svg = await readFile(paths.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.match(/<svg/g)).toHaveLength(3); // the outer one and two Plot panels
    expect(svg).toContain('Cost of one forward');
  });

  it('adds the transformers.js table and draws only the speedup panel without cost curves', async () => {
    const result = await benchResult();
    delete result.cost_curve;
    result.transformers_js = {
      version: '4.3.1',
      folder: '/models/x',
      session_options: {},
      prompt_ids: [1],
      max_tokens: 12,
      repeats: 3,
      tokens_per_s_median: 1420,
      total_tokens_per_s_median: 1300,
      ids: [4, 7],
      ours_tokens_per_s_median: 1690,
      ours_ids: [4, 7],
      ids_match: true,
      prompt_ids_match: null,
    };
    const markdown = renderMarkdown(result);
    expect(markdown).toContain('| transformers.js 4.3.1 (12 tokens × 3) | 1420 | – |');
    expect(markdown).toContain('| decodekit AR, same prompt, interleaved | 1690 | yes |');
    expect(markdown).not.toContain('## Cost');
    const svg = renderSvg(result);
    expect(svg.match(/<svg/g)).toHaveLength(2);
  });
});
