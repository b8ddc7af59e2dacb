/**
 * Test-only helpers: stories260K converted from the shared llama2.c checkpoint into a temp folder (full and
 * `--plain`), its greedy golden, the SwiftShader environment for WebGPU in Node, and the CPU reference model.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertLlama2c } from '@decodekit/models';

// eslint-disable-next-line no-process-env -- test fixture
const env = process.env;

/** Root of the reference models (the offline mirror; the root vitest config points DECODEKIT_MODELS at it). */
export const MODELS_ROOT = resolve(env.DECODEKIT_MODELS?.split(delimiter)[0] ?? fileURLToPath(new URL('../../../../../shared/models', import.meta.url)));

/** SwiftShader's Vulkan ICD shipped by Debian's Chromium (what CI uses for WebGPU without a GPU). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Points the Vulkan loader at SwiftShader unless the environment already chose an ICD (.ci/run exports the same
 * values). Must run before the first WebGPU session of the process.
 */
export function useSwiftShaderUnlessSet(): void {
  env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  env.XDG_RUNTIME_DIR ??= '/tmp';
}

let root: string | undefined;
const folders = new Map<string, string>();

/** Writes `files` into a fresh folder under this process's temp dir. */
export function writeFolder(name: string, files: Readonly<Record<string, string | Uint8Array>>): string {
  root ??= mkdtempSync(join(tmpdir(), 'decodekit-backend-webgpu-'));
  const folder = join(root, name);
  for (const [relative, content] of Object.entries(files)) {
    const path = join(folder, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return folder;
}

/** stories260K as a model folder (converted once per test process). */
export function stories260KFolder({ plain = false }: { plain?: boolean } = {}): string {
  const key = `stories260K${plain ? '-plain' : ''}`;
  const cached = folders.get(key);
  if (cached) return cached;
  const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
  const { files } = convertLlama2c({
    checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
    tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
    plain,
    name: 'karpathy/tinyllamas/stories260K',
  });
  const folder = writeFolder(key, files);
  folders.set(key, folder);
  return folder;
}

/** llama2.c's greedy output of stories260K for "Once upon a time". */
export function stories260KGolden(): { promptIds: number[]; generatedIds: number[] } {
  const golden = JSON.parse(readFileSync(join(MODELS_ROOT, 'golden', 'golden_stories260K_greedy.json'), 'utf8'));
  const entry = golden['Once upon a time'];
  return { promptIds: entry.prompt_ids, generatedIds: entry.generated_ids };
}
