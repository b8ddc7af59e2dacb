/** Test-only: stories260K converted into a temp folder, and whether this machine can run CUDA at all. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertLlama2c } from '@decodekit/models';
import { missingCudaProviderLibraries, onnxruntimeNodeBinDirectory } from '../cuda-backend';

// eslint-disable-next-line no-process-env -- test fixture
const MODELS_ROOT = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? fileURLToPath(new URL('../../../../../shared/models', import.meta.url)));

let folder: string | undefined;

/** stories260K as a model folder (converted once per test process). */
export function stories260KFolder(): string {
  if (folder) return folder;
  const source = join(MODELS_ROOT, 'karpathy', 'tinyllamas', 'stories260K');
  const { files } = convertLlama2c({
    checkpoint: new Uint8Array(readFileSync(join(source, 'stories260K.bin'))),
    tokenizer: new Uint8Array(readFileSync(join(source, 'tok512.bin'))),
    name: 'karpathy/tinyllamas/stories260K',
  });
  folder = mkdtempSync(join(tmpdir(), 'decodekit-backend-cuda-'));
  for (const [relative, content] of Object.entries(files)) {
    const path = join(folder, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return folder;
}

/** Why CUDA cannot run here (undefined when it can): no NVIDIA device node, or no provider libraries. */
export function cudaUnavailableReason(): string | undefined {
  const reasons: string[] = [];
  if (!existsSync('/dev/nvidiactl') && process.platform !== 'win32') reasons.push('no NVIDIA device (/dev/nvidiactl)');
  const missing = missingCudaProviderLibraries(onnxruntimeNodeBinDirectory());
  if (missing.length > 0) reasons.push(`no CUDA provider libraries (${missing.join(', ')})`);
  return reasons.length === 0 ? undefined : `no CUDA device/provider on this machine: ${reasons.join('; ')}`;
}
