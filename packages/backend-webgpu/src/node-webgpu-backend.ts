import { createTokenizer, InvalidArgumentError, type Backend } from '@decodekit/core';
import { createOnnxBackend, describeGraph, readModelFolder } from '@decodekit/backend-onnx';
import type { DeviceRuntime } from './device-model';
import { DEFAULT_VULKAN_LIBRARIES, preloadVulkanLoader } from './vulkan-loader';
import { createWebGpuBackendOn, type WebGpuBackendOptions } from './webgpu-backend';

/** Options of the Node `createWebGpuBackend`. */
export interface NodeWebGpuBackendOptions extends WebGpuBackendOptions {
  /**
   * Linux only: Vulkan loader libraries to try, in order, before the first session (Dawn needs one; see
   * `preloadVulkanLoader`). Default: the system's `libvulkan.so.1`, then Chromium's copy. `false` skips it.
   */
  readonly vulkanLibraries?: readonly string[] | false;
}

const nodeHint =
  'Install a GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows) support. Without a GPU, use ' +
  'SwiftShader: install Chromium (`apt-get install chromium`) and set ' +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (and XDG_RUNTIME_DIR=/tmp) before starting Node.';

/**
 * The WebGPU backend for Node: onnxruntime-node's WebGPU execution provider (Dawn over Vulkan, Metal or D3D12)
 * with the KV cache kept on the GPU between forwards. Loads model folders from disk paths or ModelFiles;
 * `capabilities.backendId` is 'onnx-webgpu'. Without a WebGPU adapter, `load()` throws an
 * UnsupportedCapabilityError that says how to get one.
 * @example
 * const model = await createWebGpuBackend().load('/models/stories260K');
 */
export function createWebGpuBackend(options: NodeWebGpuBackendOptions = {}): Backend {
  const { vulkanLibraries = DEFAULT_VULKAN_LIBRARIES, ...rest } = options;
  if (
    vulkanLibraries !== false &&
    (!Array.isArray(vulkanLibraries) || vulkanLibraries.some(entry => typeof entry !== 'string'))
  ) {
    throw new InvalidArgumentError({
      argument: 'vulkanLibraries',
      message: 'must be an array of library names or paths, or false.',
    });
  }
  return createWebGpuBackendOn(
    {
      importRuntime: async () => (await import('onnxruntime-node')) as unknown as DeviceRuntime,
      prepare:
        vulkanLibraries === false ? undefined : () => void preloadVulkanLoader(vulkanLibraries),
      readSource: readModelFolder,
      acceptsPath: true,
      adapterHint: nodeHint,
      defaultTokenizer: createTokenizer,
      createOnnxBackend,
      describeGraph,
    },
    rest,
  );
}
