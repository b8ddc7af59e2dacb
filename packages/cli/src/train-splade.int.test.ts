/** `decodekit train splade` end to end on stories260K at toy sizes: pairs, training, the model folder it writes. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@decodekit/backend-onnx';
import { InvalidArgumentError } from '@decodekit/core';
import { causalLmSplade } from '@decodekit/retrieval-splade';
import { findTorch } from '@decodekit/train';
import { describe, expect, it } from 'vitest';
import { run } from './__fixtures__/run-program.js';

describe('decodekit train splade', () => {
  const work = mkdtempSync(join(tmpdir(), 'decodekit-train-splade-'));
  const small = ['--count', '4', '--steps', '2', '--batch-size', '2', '--seed', '3'];

  it('writes a llama2.c model folder that loads and encodes, with the command that made it', async () => {
    const out = join(work, 'splade');
    expect(await run(['train', 'splade', ...small, '--out', out])).toMatch(/4 pairs, loss/);
    expect(existsSync(join(out, 'stories260K-splade.bin'))).toBe(true);
    expect(existsSync(join(out, 'tok512.bin'))).toBe(true);
    const training = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(training.command).toContain(
      'decodekit train splade --model karpathy/tinyllamas/stories260K --count 4 --seed 3 --steps 2',
    );
    expect(training.data.pairs).toBe(4);
    const { pairs } = JSON.parse(readFileSync(join(out, 'pairs.json'), 'utf8')) as {
      pairs: { query: string; document: string }[];
    };
    expect(new Set(pairs.map(pair => pair.document)).size).toBe(4);
    const model = await loadModel(out);
    try {
      const vector = await causalLmSplade({ model, tokenizer: model.tokenizer }).encode(
        pairs[0].query,
      );
      expect(vector.terms.length).toBeGreaterThan(0);
    } finally {
      await model.dispose();
    }
  });

  it('rejects bad options with typed errors', async () => {
    await expect(
      run(['train', 'splade', ...small, '--backend', 'gpu', '--out', join(work, 'x')]),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      run([
        'train',
        'splade',
        ...small,
        '--llama2c',
        join(work, 'none.bin'),
        '--out',
        join(work, 'x'),
      ]),
    ).rejects.toThrow(/--llama2c FILE/);
    await expect(
      run(['train', 'splade', ...small, '--batch-size', '1', '--out', join(work, 'x')]),
    ).rejects.toThrow(/in-batch negatives/);
    await expect(
      run(['train', 'splade', ...small, '--head-init', 'bag', '--out', join(work, 'x')]),
    ).rejects.toThrow(/--head-init|model or lexical/);
    await expect(
      run(['train', 'splade', ...small, '--head-init', 'lexical', '--out', join(work, 'x')]),
    ).rejects.toThrow(/--trainable head/);
    await expect(
      run(['train', 'splade', ...small, '--schedule', 'linear', '--out', join(work, 'x')]),
    ).rejects.toThrow(/constant or cosine/);
    await expect(
      run(['train', 'splade', ...small, '--threads', '2', '--out', join(work, 'x')]),
    ).rejects.toThrow(/--threads is a torch-backend option/);
    await expect(
      run([
        'train',
        'splade',
        ...small,
        '--backend',
        'torch',
        '--trainable',
        'head',
        '--out',
        join(work, 'x'),
      ]),
    ).rejects.toThrow(/torch backend trains the whole model/);
    // Options are checked before any pair is generated: nothing is written.
    const early = join(work, 'early');
    await expect(
      run(['train', 'splade', ...small, '--regularizer-warmup', '-3', '--out', early]),
    ).rejects.toThrow(/regularizerWarmupSteps/);
    expect(existsSync(early)).toBe(false);
  });

  it.skipIf(!findTorch())('--backend torch trains the same folder through PyTorch', async () => {
    const out = join(work, 'torch');
    expect(
      await run([
        'train',
        'splade',
        ...small,
        '--backend',
        'torch',
        '--schedule',
        'cosine',
        '--out',
        out,
      ]),
    ).toMatch(/4 pairs, loss/);
    const training = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(training.command).toContain('--schedule cosine');
    expect(training.command).toContain('--backend torch');
    const model = await loadModel(out);
    try {
      const vector = await causalLmSplade({ model, tokenizer: model.tokenizer }).encode(
        'Tom had a ball.',
      );
      expect(vector.terms.length).toBeGreaterThan(0);
    } finally {
      await model.dispose();
    }
  });
});
