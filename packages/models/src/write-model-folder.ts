import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidArgumentError } from '@decodekit/core';
import type { ModelFolderFiles } from './hf-config.js';

/** Options of {@link writeModelFolder}. */
export interface WriteModelFolderOptions {
  /** Replace an existing folder (default false: an existing folder is an error). */
  readonly overwrite?: boolean;
  /** When the folder appeared meanwhile (another process), keep it instead of failing (default false). */
  readonly keepExisting?: boolean;
}

function siblingTemp(dir: string, tag: string): string {
  return join(
    dirname(dir),
    `.${basename(dir)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * Writes a model folder atomically: every file goes into a temporary sibling folder, which is then renamed
 * to `dir`, so readers never see a half-written model. `files` may be a function that streams large files
 * into the temporary folder itself and returns the remaining (small) ones.
 *
 * @returns the absolute folder path
 * @throws InvalidArgumentError when `dir` exists and neither `overwrite` nor `keepExisting` is set
 */
export async function writeModelFolder(
  dir: string,
  files: ModelFolderFiles | ((temporaryDir: string) => Promise<ModelFolderFiles>),
  options: WriteModelFolderOptions = {},
): Promise<string> {
  const target = resolve(dir);
  if (existsSync(target)) {
    if (options.keepExisting) return target;
    if (!options.overwrite) {
      throw new InvalidArgumentError({
        argument: 'outDir',
        message: `${target} already exists. Remove it or pass overwrite: true.`,
      });
    }
  }
  await mkdir(dirname(target), { recursive: true });
  const temp = siblingTemp(target, 'partial');
  try {
    await mkdir(temp, { recursive: true });
    const small = typeof files === 'function' ? await files(temp) : files;
    for (const [relative, content] of Object.entries(small)) {
      const path = join(temp, relative);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    }
    if (existsSync(target) && options.overwrite) {
      const old = siblingTemp(target, 'old');
      await rename(target, old);
      await rename(temp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      try {
        await rename(temp, target);
      } catch (error) {
        if (!(options.keepExisting && existsSync(target))) throw error;
      }
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}
