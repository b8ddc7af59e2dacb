import { constants } from 'node:os';

/** glibc's RTLD_NODELETE (Node's os.constants.dlopen does not list it): keep the library after dlclose. */
const RTLD_NODELETE = 0x1000;

/**
 * Default places of a Vulkan loader: the system's (`libvulkan.so.1`, from the `libvulkan1` package or a GPU
 * driver), then the copy Debian/Ubuntu's Chromium ships next to its SwiftShader ICD.
 */
export const DEFAULT_VULKAN_LIBRARIES: readonly string[] = [
  'libvulkan.so.1',
  '/usr/lib/chromium/libvulkan.so.1',
];

let loaded: string | null | undefined;

/**
 * On Linux, Dawn (onnxruntime-node's WebGPU) opens `libvulkan.so.1` by name. Machines without the `libvulkan1`
 * package have no such library on the search path even when Chromium ships one, so the first library of
 * `candidates` that loads is opened once, process-wide and never unloaded: Dawn's own dlopen then finds it by
 * its soname. Returns the library loaded (or null when none did); a no-op elsewhere and after the first call.
 */
export function preloadVulkanLoader(
  candidates: readonly string[] = DEFAULT_VULKAN_LIBRARIES,
): string | null {
  if (process.platform !== 'linux') return null;
  if (loaded !== undefined) return loaded;
  loaded = null;
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const candidate of candidates) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, candidate, flags);
      loaded = candidate; // not reached: a plain shared library is not a Node addon
      break;
    } catch (error) {
      // "Module did not self-register" means dlopen succeeded (and RTLD_NODELETE keeps it); any other message
      // ("cannot open shared object file") means this candidate is not there.
      if (/did not self-register/i.test(error instanceof Error ? error.message : String(error))) {
        loaded = candidate;
        break;
      }
    }
  }
  return loaded;
}
