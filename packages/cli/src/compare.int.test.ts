/** `decodekit eval --compare` and the converter's compression options end to end on stories260K. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

const work = mkdtempSync(join(tmpdir(), 'decodekit-compare-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('decodekit eval --compare', () => {
  it('converts the variants, compares them with the dense model and writes a row per variant', async () => {
    const out = join(work, 'compare');
    const printed = await run([
      'eval',
      '--compare',
      '--variants',
      'q8,magnitude:0.5',
      '--limit',
      '3',
      '--max-tokens',
      '8',
      '--answer-tokens',
      '4',
      '--out',
      out,
    ]);
    expect(printed).toContain('| q8 |');
    const report = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as {
      rows: { model: string; perplexity: number; greedy_agreement: number }[];
      questions: number;
    };
    expect(report.rows.map(row => row.model)).toEqual(['dense', 'q8', 'magnitude:0.5']);
    expect(report.questions).toBe(3);
    expect(report.rows[0].greedy_agreement).toBe(1);
    // Half the weights gone costs perplexity; per-row int8 barely does.
    expect(report.rows[2].perplexity).toBeGreaterThan(report.rows[0].perplexity * 1.05);
    expect(report.rows[1].perplexity).toBeLessThan(report.rows[0].perplexity * 1.05);
    expect(readFileSync(join(out, 'eval.md'), 'utf8')).toContain('| magnitude:0.5 |');
  });

  it.each([
    [['eval', '--compare', '--variants', 'q3'], /unknown variant "q3"/],
    [['eval', '--compare', '--variants', '', '--variant-model', 'nameless'], /NAME=MODEL/],
    [['convert', 'stories260K', '--prune', '4:2', '--out', join(work, 'x')], /N:M with 0 < N < M/],
    [
      ['convert', 'stories260K', '--kv-heads', '3', '--out', join(work, 'y')],
      /divisor of the model's 4 KV heads/,
    ],
    [
      ['convert', 'stories260K', '--hyper-attention', 'block=x', '--out', join(work, 'z')],
      /cannot read "block=x"/,
    ],
    [
      ['convert', 'stories260K', '--hyper-attention', 'min=8,block=16', '--out', join(work, 'z')],
      /must not exceed minSeqLen/,
    ],
  ])('%j is a user error', async (args, message) => {
    const error = await run(args).catch(caught => caught);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(String(error.message)).toMatch(message);
  });

  it('convert --kv-heads 2 writes a folder with 2 KV heads and its calibration', async () => {
    const out = join(work, 'kv2');
    await run([
      'convert',
      'stories260K',
      '--kv-heads',
      '2',
      '--kv-calibration',
      '1x64',
      '--out',
      out,
    ]);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.num_key_value_heads).toBe(2);
    expect(config.decodekit.kvHeadCompression).toMatchObject({
      fromKvHeads: 4,
      toKvHeads: 2,
      calibrationTokens: 64,
    });
  });

  it('convert --prune 2:4 records the sparsity in config.json', async () => {
    const out = join(work, 'pruned');
    await run(['convert', 'stories260K', '--prune', '2:4', '--out', out]);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.decodekit.prune).toMatchObject({ spec: '2:4', sparsity: 0.5 });
  });

  it('convert --hyper-attention records its settings; a prompt within minSeqLen decodes as the exact model', async () => {
    const hyper = join(work, 'hyper');
    const exact = join(work, 'exact');
    await run([
      'convert',
      'stories260K',
      '--hyper-attention',
      'min=64,block=16,sample=16',
      '--out',
      hyper,
    ]);
    await run(['convert', 'stories260K', '--out', exact]);
    const config = JSON.parse(readFileSync(join(hyper, 'config.json'), 'utf8'));
    expect(config.decodekit.hyperAttention).toMatchObject({
      minSeqLen: 64,
      blockSize: 16,
      sampleSize: 16,
      lshProjections: 7,
    });
    const generate = (model: string, prompt: string) =>
      run(['generate', '--model', model, '--prompt', prompt, '--max-tokens', '24']);
    const short = await generate(exact, 'Once upon a time');
    expect(short.length).toBeGreaterThan(40);
    expect(await generate(hyper, 'Once upon a time')).toBe(short);
    // A prompt longer than minSeqLen prefills through HyperAttention and still decodes.
    const long =
      'Once upon a time, there was a little girl named Lily. She liked to play in the park. '.repeat(
        4,
      );
    expect((await generate(hyper, long)).length).toBeGreaterThan(long.length);
  });
});
