/**
 * The error a user without WebGPU gets, for real: this file runs in its own process (vitest's forks pool) with
 * the Vulkan loader pointed at an ICD that does not exist, so Dawn finds no adapter.
 */
import { UnsupportedCapabilityError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { stories260KFolder } from './__fixtures__/models';
import { createWebGpuBackend } from './index';

// eslint-disable-next-line no-process-env -- must be set before the first WebGPU session of this process
process.env.VK_ICD_FILENAMES = '/nonexistent/decodekit-no-such-icd.json';

describe('createWebGpuBackend without a WebGPU adapter', () => {
  it('load() throws UnsupportedCapabilityError that says how to get an adapter', async () => {
    let caught: unknown;
    try {
      await createWebGpuBackend().load(stories260KFolder());
    } catch (error) {
      caught = error;
    }
    expect(UnsupportedCapabilityError.isInstance(caught), String(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain('onnx-webgpu');
    expect(message).toMatch(/adapter/i);
    expect(message).toContain('VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json');
    expect(message).toMatch(/GPU driver/);
    expect((caught as Error).cause).toBeInstanceOf(Error);
  });
});
