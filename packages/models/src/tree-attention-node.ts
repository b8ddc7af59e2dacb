import { constants, existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { InvalidArgumentError, ModelFormatError, ModelNotFoundError } from '@decodekit/core';
import { type TreeAttentionReport, addTreeAttention } from './tree-attention.js';
import { type WriteModelFolderOptions, writeModelFolder } from './write-model-folder.js';

/** Options of {@link addTreeAttentionToFolder}. */
export type AddTreeAttentionToFolderOptions = WriteModelFolderOptions;

/** What {@link addTreeAttentionToFolder} wrote. */
export interface TreeAttentionFolder {
  /** Absolute path of the written folder. */
  readonly folder: string;
  /** Each rewritten graph (path relative to the folder) and what changed in it. */
  readonly graphs: Readonly<Record<string, TreeAttentionReport>>;
}

/** Every file under `dir`, relative to it. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(dir, path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/**
 * Writes a copy of the model folder `source` (a transformers.js / optimum export, an onnxruntime-genai folder
 * or a decodekit `--plain` conversion) to `outDir` in which every decoder graph (`*.onnx`) takes decodekit's
 * `attention_bias` input (see {@link addTreeAttention}), so that the ONNX backends verify draft trees in one
 * forward (`capabilities.tree`). Every other file (tokenizer, configs, external weight data) is copied
 * unchanged; the folder is written atomically. Node only.
 *
 * @returns the folder and, per graph, what the rewrite changed
 * @throws ModelNotFoundError when `source` is not a folder; ModelFormatError when it holds no `.onnx` graph
 *   or a graph has no mask pattern the rewrite knows; InvalidArgumentError when `outDir` exists (without
 *   `overwrite`) or is `source` itself
 */
export async function addTreeAttentionToFolder(
  source: string,
  outDir: string,
  options: AddTreeAttentionToFolderOptions = {},
): Promise<TreeAttentionFolder> {
  const from = resolve(source);
  if (!existsSync(from) || !statSync(from).isDirectory()) {
    throw new ModelNotFoundError({
      ref: source,
      searched: [from],
      hint: 'Pass the model folder of an ONNX export (config.json or genai_config.json beside its .onnx files).',
    });
  }
  const target = resolve(outDir);
  if (target === from || !relative(from, target).startsWith('..')) {
    throw new InvalidArgumentError({
      argument: 'outDir',
      message: `${target} is inside the source folder; write the rewritten model to a separate folder.`,
    });
  }
  const files = await listFiles(from);
  const graphs = files.filter(file => file.endsWith('.onnx'));
  if (graphs.length === 0) {
    throw new ModelFormatError({
      path: from,
      message: 'holds no .onnx graph; pass the folder of an ONNX export.',
    });
  }
  const reports: Record<string, TreeAttentionReport> = {};
  // Rewrite first, so a graph without a known mask pattern fails before anything is written.
  const rewritten: Record<string, Uint8Array> = {};
  for (const graph of graphs) {
    const { onnx, report } = addTreeAttention(new Uint8Array(await readFile(join(from, graph))), {
      path: graph,
    });
    rewritten[graph] = onnx;
    reports[graph] = report;
  }
  const folder = await writeModelFolder(
    target,
    async temporary => {
      for (const file of files) {
        if (file in rewritten) continue;
        await mkdir(dirname(join(temporary, file)), { recursive: true });
        // A copy-on-write clone where the file system has them: weight data can be gigabytes.
        await copyFile(join(from, file), join(temporary, file), constants.COPYFILE_FICLONE);
      }
      return rewritten;
    },
    options,
  );
  return { folder, graphs: reports };
}
