import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, ModelFormatError, ModelNotFoundError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { decodeModel } from './onnx-writer.js';
import { buildTinyModel } from './tiny-model.js';
import { addTreeAttentionToFolder } from './tree-attention-node.js';

const work = mkdtempSync(join(tmpdir(), 'decodekit-tree-folder-'));

function writeFiles(name: string, files: Record<string, string | Uint8Array>): string {
  const folder = join(work, name);
  for (const [relative, content] of Object.entries(files)) {
    mkdirSync(join(folder, relative, '..'), { recursive: true });
    writeFileSync(join(folder, relative), content);
  }
  return folder;
}

async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('addTreeAttentionToFolder', () => {
  it('rewrites every graph and copies every other file unchanged', async () => {
    const { files } = buildTinyModel({ seed: 4, plain: true });
    const source = writeFiles('plain', { ...files, 'onnx/model.onnx_data': 'weights' });
    const { folder, graphs } = await addTreeAttentionToFolder(source, join(work, 'plain-tree'));
    expect(Object.keys(graphs)).toEqual(['onnx/model.onnx']);
    expect(graphs['onnx/model.onnx'].softmaxMasks).toBe(2);
    const inputs = decodeModel(readFileSync(join(folder, 'onnx', 'model.onnx'))).graph?.input;
    expect(inputs?.map(input => input.name)).toContain('attention_bias');
    for (const file of ['config.json', 'tokenizer.json', 'onnx/model.onnx_data'])
      expect(readFileSync(join(folder, file))).toEqual(readFileSync(join(source, file)));
  });

  it('refuses a missing folder, a folder without graphs, and an output inside the source', async () => {
    const missing = await rejection(() =>
      addTreeAttentionToFolder(join(work, 'nothing'), join(work, 'out-1')),
    );
    expect(ModelNotFoundError.isInstance(missing)).toBe(true);
    const empty = writeFiles('no-graph', { 'config.json': '{}' });
    const noGraph = await rejection(() => addTreeAttentionToFolder(empty, join(work, 'out-2')));
    expect(ModelFormatError.isInstance(noGraph)).toBe(true);
    expect((noGraph as Error).message).toContain('holds no .onnx graph');
    const inside = await rejection(() => addTreeAttentionToFolder(empty, join(empty, 'tree')));
    expect(InvalidArgumentError.isInstance(inside)).toBe(true);
  });
});
