/** `decodekit train` end to end on stories260K at toy sizes (wiring, resumability and the strategies' CLI entries). */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import { findTorch } from '@decodekit/train';
import { describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

describe('decodekit train', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-train-cli-'));
  const small = [
    '--count',
    '4',
    '--length',
    '40',
    '--sampled-prefix',
    '12',
    '--batch-size',
    '8',
    '--data-dir',
    join(work, 'data'),
  ];

  it('medusa: writes weights the medusa strategy decodes exactly with; a finished run re-exports from its checkpoint', async () => {
    const out = join(work, 'medusa');
    const args = [
      'train',
      'medusa',
      ...small,
      '--steps',
      '6',
      '--heads',
      '2',
      '--tree-size',
      '5',
      '--out',
      out,
    ];
    expect(await run(args)).toMatch(/held-out top-1 accuracy per head/);
    const weights = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8'));
    expect(weights.format).toBe('decodekit-medusa/1');
    expect(weights.tree).toHaveLength(5);
    expect(weights.training.command).toContain('decodekit train medusa');
    expect(existsSync(join(out, 'checkpoint.json'))).toBe(true);
    await run(args);
    expect(JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8')).heads).toEqual(
      weights.heads,
    );
    const generate = [
      'generate',
      '--prompt',
      'Tom had a red ball.',
      '--max-tokens',
      '40',
      '--format',
      'json',
    ];
    const plain = JSON.parse(await run(generate)) as { tokens: number[] };
    const drafted = JSON.parse(
      await run([...generate, '--strategy', `medusa:weights=${join(out, 'weights.json')}`]),
    ) as { tokens: number[] };
    expect(drafted.tokens).toEqual(plain.tokens);
    const committed = JSON.parse(await run([...generate, '--strategy', 'eagle'])) as {
      tokens: number[];
    };
    expect(committed.tokens).toEqual(plain.tokens);
  });

  it('ppd: trains prompt tokens through the frozen target; the ppd strategy decodes exactly with them', async () => {
    const out = join(work, 'ppd');
    const args = [
      'train',
      'ppd',
      ...small,
      '--batch-size',
      '2',
      '--steps',
      '4',
      '--prompt-tokens',
      '2',
      '--tree-size',
      '6',
      '--out',
      out,
    ];
    expect(await run(args)).toMatch(/held-out top-1 accuracy per depth/);
    const weights = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8'));
    expect(weights.format).toBe('decodekit-ppd/1');
    expect(weights.tree).toHaveLength(6);
    expect(weights.training.command).toContain('decodekit train ppd');
    const generate = [
      'generate',
      '--prompt',
      'Tom had a red ball.',
      '--max-tokens',
      '40',
      '--format',
      'json',
    ];
    const plain = JSON.parse(await run(generate)) as { tokens: number[] };
    for (const strategy of [`ppd:weights=${join(out, 'weights.json')}`, 'ppd']) {
      const drafted = JSON.parse(await run([...generate, '--strategy', strategy])) as {
        tokens: number[];
      };
      expect(drafted.tokens).toEqual(plain.tokens);
    }
    await expect(
      run(['train', 'ppd', ...small, '--llama2c', join(work, 'none.bin'), '--out', out]),
    ).rejects.toThrow(/--llama2c FILE/);
  });

  it('ppd: --virtual-tokens trains ensemble prompt tokens (format 2) the ppd strategy decodes exactly with', async () => {
    const out = join(work, 'ppd-ensemble');
    const args = [
      'train',
      'ppd',
      ...small,
      '--batch-size',
      '2',
      '--steps',
      '3',
      '--prompt-tokens',
      '2',
      '--virtual-tokens',
      '2',
      '--init',
      'tokens',
      '--schedule',
      'cosine',
      '--loss-decay',
      '0.8',
      '--cuts-per-sequence',
      '8',
      '--tree-size',
      '6',
      '--out',
      out,
    ];
    expect(await run(args)).toMatch(/held-out top-1 accuracy per depth/);
    const weights = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8'));
    expect(weights).toMatchObject({ format: 'decodekit-ppd/2', virtualTokens: 2 });
    expect(weights.training.command).toContain('--virtual-tokens 2 --init tokens');
    const generate = ['generate', '--prompt', 'Tom had a red ball.', '--max-tokens', '32'];
    const plain = JSON.parse(await run([...generate, '--format', 'json'])) as { tokens: number[] };
    const drafted = JSON.parse(
      await run([
        ...generate,
        '--format',
        'json',
        '--strategy',
        `ppd:weights=${join(out, 'weights.json')}`,
      ]),
    ) as { tokens: number[] };
    expect(drafted.tokens).toEqual(plain.tokens);
    await expect(
      run(['train', 'ppd', ...small, '--init', 'zeros', '--steps', '1', '--out', out]),
    ).rejects.toThrow(InvalidArgumentError);
  });

  it('hidden-transfer: trains projections through the frozen upper layers; the strategy decodes exactly with them', async () => {
    const out = join(work, 'hidden-transfer');
    const args = [
      'train',
      'hidden-transfer',
      ...small,
      '--batch-size',
      '2',
      '--steps',
      '4',
      '--layer',
      '3',
      '--transfers',
      '2',
      '--tree-size',
      '6',
      '--out',
      out,
    ];
    expect(await run(args)).toMatch(/held-out top-1 accuracy per depth/);
    const weights = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8'));
    expect(weights).toMatchObject({
      format: 'decodekit-hidden-transfer/1',
      layer: 3,
      transfers: 2,
      numLayers: 5,
    });
    expect(weights.tree).toHaveLength(6);
    expect(weights.training.command).toContain(
      'decodekit train hidden-transfer --model karpathy/tinyllamas/stories260K',
    );
    expect(weights.training.command).toContain('--layer 3 --transfers 2 --tree-size 6');
    const generate = [
      'generate',
      '--prompt',
      'Tom had a red ball.',
      '--max-tokens',
      '40',
      '--format',
      'json',
    ];
    const plain = JSON.parse(await run(generate)) as { tokens: number[] };
    for (const strategy of [
      `hidden-transfer:weights=${join(out, 'weights.json')}`,
      'hidden-transfer',
    ]) {
      const drafted = JSON.parse(await run([...generate, '--strategy', strategy])) as {
        tokens: number[];
      };
      expect(drafted.tokens).toEqual(plain.tokens);
    }
    // A bad PPD option fails before any dataset is generated, too.
    await expect(
      run([
        'train',
        'ppd',
        ...small,
        '--data-dir',
        join(work, 'ppd-data-never-written'),
        '--virtual-tokens',
        '0',
        '--out',
        join(work, 'ppd-bad'),
      ]),
    ).rejects.toThrow(/virtualTokens/);
    expect(existsSync(join(work, 'ppd-data-never-written'))).toBe(false);
    // A split the target does not have fails before any dataset is generated.
    const untouched = join(work, 'data-never-written');
    await expect(
      run([
        'train',
        'hidden-transfer',
        ...small,
        '--data-dir',
        untouched,
        '--layer',
        '5',
        '--out',
        out,
      ]),
    ).rejects.toThrow(/layer/);
    expect(existsSync(untouched)).toBe(false);
    await expect(
      run([
        'train',
        'hidden-transfer',
        ...small,
        '--llama2c',
        join(work, 'none.bin'),
        '--out',
        out,
      ]),
    ).rejects.toThrow(/Hidden Transfer training runs the target/);
  });

  it('lud: writes a llama2.c folder that --model loads; lud with threshold > 1 decodes it exactly as plain greedy', async () => {
    const out = join(work, 'lud');
    const args = [
      'train',
      'lud',
      ...small,
      '--batch-size',
      '2',
      '--steps',
      '2',
      '--placeholders',
      '2',
      '--out',
      out,
    ];
    expect(await run(args)).toMatch(/held-out placeholder accuracy inside units/);
    const record = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(record.command).toContain('decodekit train lud');
    expect(record.units.count).toBeGreaterThan(0);
    expect(existsSync(join(out, 'lud.bin'))).toBe(true);
    const generate = [
      'generate',
      '--model',
      out,
      '--prompt',
      'Tom had a red ball.',
      '--max-tokens',
      '24',
      '--format',
      'json',
    ];
    const plain = JSON.parse(await run(generate)) as { tokens: number[] };
    const multi = JSON.parse(
      await run([...generate, '--strategy', 'lud:threshold=1.01,placeholders=2']),
    ) as { tokens: number[] };
    expect(multi.tokens).toEqual(plain.tokens);
    await expect(
      run(['train', 'lud', ...small, '--placeholder-token-id', '512', '--out', out]),
    ).rejects.toThrow(/placeholderTokenId/);
  });

  it.skipIf(!findTorch())(
    'lud --backend torch: trains on several prefix recipes through PyTorch and writes the same folder',
    async () => {
      const out = join(work, 'lud-torch');
      const args = [
        'train',
        'lud',
        ...small,
        '--sampled-prefixes',
        '4,8',
        '--prefix-temperatures',
        '1,0.7',
        '--batch-size',
        '2',
        '--steps',
        '3',
        '--placeholders',
        '2',
        '--backend',
        'torch',
        '--out',
        out,
      ];
      expect(await run(args)).toMatch(/held-out placeholder accuracy inside units/);
      const record = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
      expect(record.command).toContain('--backend torch');
      expect(record.command).toContain('--sampled-prefixes 4,8 --prefix-temperatures 1,0.7');
      expect(record.command).not.toContain('--sampled-prefix 12');
      // One recipe per prefix × temperature, each with its own seeds.
      expect(
        record.data.map(
          (d: { sampledPrefix: number; prefixTemperature?: number; seed: number }) => [
            d.sampledPrefix,
            d.prefixTemperature ?? 1,
            d.seed,
          ],
        ),
      ).toEqual([
        [4, 1, 0],
        [4, 0.7, 4],
        [8, 1, 8],
        [8, 0.7, 12],
      ]);
      expect(record.losses.at(-1).step).toBe(3);
      expect(existsSync(join(out, 'lud-torch.bin'))).toBe(true);
      await expect(run(['train', 'lud', ...small, '--threads', '2', '--out', out])).rejects.toThrow(
        /--threads is a torch-backend option/,
      );
      await expect(
        run(['train', 'lud', ...small, '--sampled-prefixes', '4,x', '--out', out]),
      ).rejects.toThrow(/--sampled-prefixes/);
    },
  );

  it('rejects bad options with typed errors', async () => {
    await expect(
      run(['train', 'eagle', ...small, '--backend', 'gpu', '--out', join(work, 'x')]),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      run(['train', 'eagle', ...small, '--unroll', '0', '--out', join(work, 'x')]),
    ).rejects.toThrow(/unroll/);
    await expect(
      run(['generate', '--prompt', 'x', '--strategy', 'medusa:weights=/nonexistent.json']),
    ).rejects.toThrow(/decodekit train/);
  });
});
