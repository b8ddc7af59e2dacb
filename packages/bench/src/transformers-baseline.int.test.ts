import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { ModelFormatError } from '@decodekit/core';
import { buildTinyModel, type ModelFolderFiles } from '@decodekit/models';
import { transformersJsBaseline } from './transformers-baseline.js';

const root = mkdtempSync(join(tmpdir(), 'decodekit-bench-tjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeFolder(name: string, files: ModelFolderFiles): string {
  const folder = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  return folder;
}

describe('transformersJsBaseline', () => {
  it('runs greedy generate() on a plain folder and matches decodekit AR ids', async () => {
    const folder = writeFolder(
      'tiny-plain',
      buildTinyModel({ seed: 5, plain: true, vocabSize: 64, contextLength: 64 }).files,
    );
    const ours = await createCpuBackend().load(folder);
    try {
      const result = await transformersJsBaseline({
        folder,
        prompt: 'Once upon a time',
        maxTokens: 12,
        repeats: 2,
        compareWith: ours,
      });
      expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(result.prompt_ids_match).toBe(true);
      expect(result.ids.length).toBeGreaterThan(0);
      expect(result.ids).toEqual(result.ours_ids);
      expect(result.ids_match).toBe(true);
      expect(result.tokens_per_s_median).toBeGreaterThan(0);
      expect(result.ours_tokens_per_s_median).toBeGreaterThan(0);
    } finally {
      await ours.dispose();
    }
  });

  it('explains that an extended decodekit graph needs a --plain export', async () => {
    const folder = writeFolder('tiny-extended', buildTinyModel({ seed: 5 }).files);
    await expect(
      transformersJsBaseline({ folder, promptIds: [1, 5], maxTokens: 4 }),
    ).rejects.toThrow(ModelFormatError);
    await expect(
      transformersJsBaseline({ folder, promptIds: [1, 5], maxTokens: 4 }),
    ).rejects.toThrow(/--plain/);
  });
});
