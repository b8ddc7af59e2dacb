/** `decodekit train fastdraft` end to end on stories260K at toy sizes: varied data, KD weights, the folder it writes. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@decodekit/backend-onnx';
import { checkDraftCompatibility, InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

describe('decodekit train fastdraft', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-train-fastdraft-'));
  const small = [
    // One toy shape and toy data sizes; every list flag keeps its default unless a test sets it.
    ...(
      '--dim 16 --hidden 32 --layers 1 --heads 2 --kv-heads 1 --pretrain-count 2 --pretrain-length 12 ' +
      '--pretrain-steps 2 --align-count 2 --align-prefix 4 --align-length 16 --align-steps 2 ' +
      '--held-out-count 2 --batch-size 2 --seed 3 --backend cpu'
    ).split(' '),
    '--data-dir',
    join(work, 'data'),
  ];

  it('trains on every prompt set with the KD weights and writes a compatible draft', async () => {
    const out = join(work, 'draft');
    const args = ['--align-prefixes', '2,6', '--align-prefix-temperatures', '1,0.7'];
    expect(
      await run(['train', 'fastdraft', ...small, ...args, '--align-kd', '0.5', '--out', out]),
    ).toMatch(/held-out acceptance — pretrained T=0: [\d.]+, T=0.8: [\d.]+; aligned T=0: /);
    const training = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(training.command).toContain(
      '--pretrain-temperatures 1,0.7 --pretrain-steps 2 --pretrain-lr 0.005 --pretrain-kd 1 --align-count 2 --align-prefix 4 --align-prefixes 2,6 --align-prefix-temperatures 1,0.7',
    );
    expect(training.command).toContain('--align-kd 0.5');
    expect(training.recipe.pretrain.kdWeight).toBe(1);
    expect(training.recipe.align.kdWeight).toBe(0.5);
    // Two free-generation temperatures; 2 prompt lengths × 2 prompt temperatures × 2 continuation temperatures.
    expect(training.recipe.pretrain.data).toHaveLength(2);
    expect(
      training.recipe.align.data.map(
        (data: { sampledPrefix: number; prefixTemperature?: number; temperature?: number }) => [
          data.sampledPrefix,
          data.prefixTemperature ?? 1,
          data.temperature ?? 0,
        ],
      ),
    ).toEqual([
      [2, 1, 0],
      [2, 1, 0.8],
      [2, 0.7, 0],
      [2, 0.7, 0.8],
      [6, 1, 0],
      [6, 1, 0.8],
      [6, 0.7, 0],
      [6, 0.7, 0.8],
    ]);
    expect(existsSync(join(out, 'pretrained', 'model.bin'))).toBe(true);
    const [target, draft] = await Promise.all([
      loadModel('karpathy/tinyllamas/stories260K'),
      loadModel(out),
    ]);
    try {
      expect(checkDraftCompatibility(target, draft).comparedTokens).toBe(512);
    } finally {
      await Promise.all([target.dispose(), draft.dispose()]);
    }
  }, 120_000);

  it.each([
    ['--align-prefixes', '4,x'],
    ['--align-prefixes', '15'],
    ['--align-prefix-temperatures', '0'],
    ['--pretrain-temperatures', ''],
    ['--align-kd', '2'],
    ['--pretrain-kd', '-1'],
  ])('rejects %s %j with a typed error', async (flag, value) => {
    await expect(
      run(['train', 'fastdraft', ...small, flag, value, '--out', join(work, 'bad')]),
    ).rejects.toThrow(InvalidArgumentError);
  });
});
