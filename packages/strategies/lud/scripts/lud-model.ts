/**
 * Node-only helper of the LUD scripts and tests: the committed LUD-fine-tuned stories260K
 * (`weights/stories260K-lud.bin`, reproduced by the command in `weights/stories260K-lud.json`) as a llama2.c
 * folder the resolver loads: the checkpoint beside stories260K's tokenizer from the mirror (`DECODEKIT_MODELS`),
 * assembled once in `<decodekit cache>/lud/<hash>/` (mirrors are read-only; the tokenizer is not copied into
 * the repository).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '@decodekit/models/node';

/** The LUD-fine-tuned stories260K checkpoint (llama2.c format). */
export const LUD_CHECKPOINT = fileURLToPath(
  new URL('../weights/stories260K-lud.bin', import.meta.url),
);

/** The placeholder the committed model was fine-tuned with: id 0, `<unk>` (tok512 falls back to bytes, never emits it). */
export const LUD_PLACEHOLDER_TOKEN_ID = 0;

/** A llama2.c folder holding the committed LUD checkpoint and stories260K's tokenizer; pass it to `loadModel`. */
export function ludModelFolder(): string {
  const mirror = (process.env.DECODEKIT_MODELS ?? '../shared/models').split(':')[0];
  const tokenizer = join(mirror, 'karpathy/tinyllamas/stories260K/tok512.bin');
  const bytes = readFileSync(LUD_CHECKPOINT);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const folder = join(defaultCacheDir(), 'lud', `stories260K-lud-${hash}`);
  if (!existsSync(join(folder, 'tok512.bin'))) {
    mkdirSync(folder, { recursive: true });
    copyFileSync(LUD_CHECKPOINT, join(folder, 'stories260K-lud.bin'));
    copyFileSync(tokenizer, join(folder, 'tok512.bin'));
  }
  return folder;
}
