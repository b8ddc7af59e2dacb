/**
 * Node-only helpers of the S2D scripts and tests: the committed SoFT checkpoint, and each nested exit of a
 * llama2.c checkpoint (its first k layers + the shared final norm and head) as a model folder of its own
 * (`nestedLlama` → `writeLlama2cCheckpoint` → `convertLlama2cToFolder`), cached by the checkpoint's hash.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  convertLlama2cToFolder,
  defaultCacheDir,
  readLlama2cCheckpoint,
  writeLlama2cCheckpoint,
} from '@decodekit/models/node';
import { nestedLlama } from '@decodekit/train';

/** stories260K after Sorted Fine-Tuning (`scripts/soft.measure.ts` reproduces it), all 5 layers. */
export const SOFT_CHECKPOINT = fileURLToPath(
  new URL('../weights/stories260K-soft.bin', import.meta.url),
);

/** The original stories260K checkpoint and its tokenizer in the mirror (`DECODEKIT_MODELS`). */
export function stories260KFiles(): { checkpoint: string; tokenizer: string } {
  const mirror = (process.env.DECODEKIT_MODELS ?? '../shared/models').split(':')[0];
  const folder = join(mirror, 'karpathy/tinyllamas/stories260K');
  return { checkpoint: join(folder, 'stories260K.bin'), tokenizer: join(folder, 'tok512.bin') };
}

/**
 * Model folders of the nested exits `layers` of a llama2.c checkpoint, converted once into
 * `<decodekit cache>/s2d/<name>-<hash>/<k>` (named `${name}[:k]`; the deepest exit of a full checkpoint is
 * the model itself).
 */
export async function nestedExitFolders(
  checkpointPath: string,
  tokenizerPath: string,
  layers: readonly number[],
  name: string,
): Promise<string[]> {
  const bytes = new Uint8Array(readFileSync(checkpointPath));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const root = join(defaultCacheDir(), 's2d', `${name}-${hash}`);
  const { config, weights } = readLlama2cCheckpoint(bytes);
  const folders: string[] = [];
  for (const k of layers) {
    const folder = join(root, String(k));
    if (!existsSync(join(folder, 'config.json'))) {
      const nested = nestedLlama(config, weights, k);
      mkdirSync(root, { recursive: true });
      const bin = join(root, `layers-${k}.bin`);
      writeFileSync(bin, writeLlama2cCheckpoint(nested));
      await convertLlama2cToFolder(bin, tokenizerPath, folder, {
        name: `${name}[:${k}]`,
        overwrite: true,
      });
    }
    folders.push(folder);
  }
  return folders;
}
