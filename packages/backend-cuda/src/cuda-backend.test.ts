import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendError, InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { stories260KFolder, cudaUnavailableReason } from './__fixtures__/models';
import {
  createCudaBackend,
  cudaProviderLibraries,
  missingCudaProviderLibraries,
  onnxruntimeNodeBinDirectory,
} from './index';

async function loadError(load: () => Promise<unknown>): Promise<Error> {
  try {
    await load();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected load() to fail');
}

describe('createCudaBackend options', () => {
  it.each([-1, 1.5, Number.NaN, '0'])('rejects deviceId %s', deviceId => {
    expect(() => createCudaBackend({ deviceId: deviceId as number })).toThrow(InvalidArgumentError);
  });

  it('rejects an unknown graphOptimizationLevel', () => {
    expect(() => createCudaBackend({ graphOptimizationLevel: 'max' as 'all' })).toThrow(
      /graphOptimizationLevel/,
    );
  });

  it('finds onnxruntime-node and names the provider libraries it needs', () => {
    const directory = onnxruntimeNodeBinDirectory();
    expect(directory).toMatch(/onnxruntime-node.*bin.napi-v6/);
    expect(cudaProviderLibraries('linux')).toEqual([
      'libonnxruntime_providers_shared.so',
      'libonnxruntime_providers_cuda.so',
    ]);
    expect(cudaProviderLibraries('win32')[1]).toBe('onnxruntime_providers_cuda.dll');
  });
});

describe.skipIf(cudaUnavailableReason() === undefined)(
  'createCudaBackend without the CUDA provider (this machine)',
  () => {
    it('load() throws a BackendError that says how to install the provider', async () => {
      expect(missingCudaProviderLibraries(onnxruntimeNodeBinDirectory()).length).toBeGreaterThan(0);
      const error = await loadError(() => createCudaBackend().load(stories260KFolder()));
      expect(BackendError.isInstance(error), String(error)).toBe(true);
      expect(error.message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
      expect(error.message).toContain('libonnxruntime_providers_cuda.so');
      expect(error.message).toMatch(/CUDA 12/);
      expect(error.message).toMatch(/cuDNN 9/);
    });

    it('reports a provider that fails to start as a BackendError, not as a damaged graph', async () => {
      // Provider files present where the check looks, but not loadable by onnxruntime-node: the real session
      // creation fails inside ONNX Runtime, and that failure must reach the caller as a BackendError.
      const directory = mkdtempSync(join(tmpdir(), 'decodekit-fake-cuda-'));
      for (const library of cudaProviderLibraries()) writeFileSync(join(directory, library), '');
      const error = await loadError(() =>
        createCudaBackend({ runtimeDirectory: directory, deviceId: 0 }).load(stories260KFolder()),
      );
      expect(BackendError.isInstance(error), String(error)).toBe(true);
      expect(error.message).toMatch(/could not start the CUDA execution provider on device 0/);
      expect(error.message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
      expect(error.cause).toBeInstanceOf(Error);
    });
  },
);
