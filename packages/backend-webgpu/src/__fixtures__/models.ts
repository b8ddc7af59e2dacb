/**
 * Test-only helpers: stories260K converted from the shared llama2.c checkpoint into a temp folder (full and
 * `--plain`), its greedy golden, the SwiftShader environment for WebGPU in Node, and the CPU reference model.
 */
import { delimiter, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureFolders } from '@decodekit/models/testing';

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

const fixtures = fixtureFolders({ modelsRoot: MODELS_ROOT, prefix: 'decodekit-backend-webgpu-' });

/** Writes `files` into a fresh folder under this process's temp dir. */
export const writeFolder = fixtures.write;

/** stories260K as a model folder (converted once per test process). */
export const stories260KFolder = fixtures.stories260K;

/** llama2.c's greedy output of stories260K for "Once upon a time". */
export const stories260KGolden = fixtures.stories260KGolden;
