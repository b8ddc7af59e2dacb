import * as ortNode from 'onnxruntime-node';
import { AbortedError, BackendError, type LoadedModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stubTokenizerFactory, tinyModelFolder } from './__fixtures__/model-folders';
import { readModelFolder } from './model-folder';
import { createOnnxBackend } from './onnx-backend';
import type { OrtRuntime, OrtSession } from './ort-runtime';

/**
 * onnxruntime-node whose sessions fail every run after `healthyRuns` runs (counted in `counter` once it is
 * armed, which a test does after the load-time probe), as a broken runtime would, and call `onRun` when a run
 * starts.
 */
function failingRuntime(
  healthyRuns: number,
  onRun: () => void = () => undefined,
  counter = { runs: 0, armed: true },
): OrtRuntime {
  const ort = ortNode as unknown as OrtRuntime;
  return {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(model: Uint8Array | string, options?: object): Promise<OrtSession> {
        const session = await ort.InferenceSession.create(model as Uint8Array, options);
        return {
          inputNames: session.inputNames,
          outputNames: session.outputNames,
          inputMetadata: session.inputMetadata,
          outputMetadata: session.outputMetadata,
          run: (feeds, fetches) => {
            onRun();
            if (counter.armed && counter.runs++ >= healthyRuns) {
              return Promise.reject(
                new Error(
                  '[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code\n    at native',
                ),
              );
            }
            return session.run(feeds, fetches);
          },
          release: () => session.release(),
        };
      },
    } as OrtRuntime['InferenceSession'],
  };
}

describe('createOnnxBackend', () => {
  let model: LoadedModel;
  let onRun = () => {};
  const counter = { runs: 0, armed: false };
  beforeAll(async () => {
    const backend = createOnnxBackend({
      id: 'onnx-test',
      loadRuntime: async () => failingRuntime(2, () => onRun(), counter),
      sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1 },
      readSource: readModelFolder,
      acceptsPath: true,
      createTokenizer: stubTokenizerFactory,
    });
    model = await backend.load(tinyModelFolder());
    counter.armed = true; // the load-time probe ran healthy forwards; the test's runs count from here
  });
  afterAll(() => model?.dispose());

  it('turns a runtime failure into BackendError with the cause, and keeps the sequence consistent', async () => {
    const sequence = model.createSequence();
    await sequence.forward({ tokens: Int32Array.of(3, 4) });
    sequence.commit([0, 1]);
    // A signal that aborts while the runtime runs: the run completes, then the forward rejects.
    const controller = new AbortController();
    onRun = () => controller.abort('stop');
    await expect(
      sequence.forward({ tokens: Int32Array.of(5) }, { signal: controller.signal }),
    ).rejects.toSatisfy(AbortedError.isInstance);
    expect(() => sequence.commit([0])).toThrow(/forward/);
    onRun = () => {};
    let caught: unknown;
    try {
      await sequence.forward({ tokens: Int32Array.of(5) });
    } catch (error) {
      caught = error;
    }
    expect(BackendError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toContain('RUNTIME_EXCEPTION');
    expect((caught as Error).message).not.toContain('at native');
    expect((caught as Error).cause).toBeInstanceOf(Error);
    expect(sequence.tokens).toEqual([3, 4]);
    expect(model.capabilities.backendId).toBe('onnx-test');
  });
});

describe('createOnnxBackend runtime start', () => {
  it('reports a runtime that cannot start as BackendError and tries again on the next load', async () => {
    let attempts = 0;
    const backend = createOnnxBackend({
      id: 'onnx-broken',
      loadRuntime: async () => {
        attempts++;
        throw new Error('libonnxruntime.so.1: cannot open shared object file');
      },
      sessionOptions: {},
      readSource: readModelFolder,
      createTokenizer: stubTokenizerFactory,
    });
    for (let load = 0; load < 2; load++) {
      let caught: unknown;
      try {
        await backend.load(tinyModelFolder());
      } catch (error) {
        caught = error;
      }
      expect(BackendError.isInstance(caught)).toBe(true);
      expect((caught as Error).message).toContain('libonnxruntime');
    }
    expect(attempts).toBe(2);
  });
});
