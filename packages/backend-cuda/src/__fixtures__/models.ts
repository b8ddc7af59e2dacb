/** Test-only: stories260K converted into a temp folder, and whether this machine can run CUDA at all. */
import { existsSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureFolders } from '@decodekit/models/testing';
import { missingCudaProviderLibraries, onnxruntimeNodeBinDirectory } from '../cuda-backend';

// eslint-disable-next-line no-process-env -- test fixture
const MODELS_ROOT = resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? fileURLToPath(new URL('../../../../../shared/models', import.meta.url)));

const fixtures = fixtureFolders({ modelsRoot: MODELS_ROOT, prefix: 'decodekit-backend-cuda-' });

/** stories260K as a model folder (converted once per test process). */
export const stories260KFolder = (): string => fixtures.stories260K();

/** Why CUDA cannot run here (undefined when it can): no NVIDIA device node, or no provider libraries. */
export function cudaUnavailableReason(): string | undefined {
  const reasons: string[] = [];
  if (!existsSync('/dev/nvidiactl') && process.platform !== 'win32') reasons.push('no NVIDIA device (/dev/nvidiactl)');
  const missing = missingCudaProviderLibraries(onnxruntimeNodeBinDirectory());
  if (missing.length > 0) reasons.push(`no CUDA provider libraries (${missing.join(', ')})`);
  return reasons.length === 0 ? undefined : `no CUDA device/provider on this machine: ${reasons.join('; ')}`;
}
