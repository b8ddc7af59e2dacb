import {
  createDecoder,
  speculative,
  type CausalLM,
  type LoadedModel,
  type Strategy,
} from '@decodekit/core';
import { createCpuBackend, loadModel } from '@decodekit/backend-onnx';
import { runBackendConformance } from '@decodekit/conformance';
import { draftModel } from '@decodekit/strategy-draft-model';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cudaUnavailableReason, stories260KFolder } from './__fixtures__/models';
import { createCudaBackend } from './index';

// Decided at runtime: this runs for real only where an NVIDIA device and onnxruntime-node's CUDA provider
// libraries are both present. Nothing here is simulated.
const unavailable = cudaUnavailableReason();

/** Same tolerance as the CPU backend's suite would allow for a different float summation order on the GPU. */
const TOLERANCE = 1e-3;

if (unavailable !== undefined) {
  describe('onnx-cuda (stories260K)', () => {
    it.skip(`backend conformance, golden greedy and O-greedy strategies (skipped: ${unavailable})`, () => {});
  });
} else {
  const backend = createCudaBackend({ deviceId: 0 });
  runBackendConformance('onnx-cuda (stories260K)', {
    makeModel: () => backend.load(stories260KFolder()),
    tolerance: TOLERANCE,
  });

  describe('onnx-cuda: greedy parity with the CPU backend', () => {
    let cuda: LoadedModel;
    let cpu: LoadedModel;
    beforeAll(async () => {
      cuda = await backend.load(stories260KFolder());
      cpu = await createCpuBackend().load(stories260KFolder());
    });
    afterAll(async () => {
      await cuda?.dispose();
      await cpu?.dispose();
    });

    const generate = (model: CausalLM, strategy?: Strategy) => {
      let decoder = createDecoder({ model });
      if (strategy) decoder = decoder.use(strategy);
      return decoder.generate(
        { tokens: [1, 403, 407, 261, 378] },
        { maxTokens: 100, temperature: 0 },
      );
    };

    it('autoregressive greedy equals the CPU backend (100 tokens)', async () => {
      expect((await generate(cuda)).tokens).toEqual((await generate(cpu)).tokens);
    });

    it.each([
      ['prompt-lookup', () => speculative({ drafter: promptLookup() })],
      ['token-recycling', () => speculative({ drafter: tokenRecycling(), budget: 32 })],
    ])('O-greedy: %s on CUDA equals autoregressive greedy', async (_, make) => {
      expect((await generate(cuda, make())).tokens).toEqual((await generate(cuda)).tokens);
    });

    it('O-greedy: draft-model (llama2xs on the CPU drafts) on CUDA equals autoregressive greedy', async () => {
      const draft = await loadModel('llama2xs');
      try {
        const strategy = speculative({ drafter: draftModel({ model: draft }) });
        expect((await generate(cuda, strategy)).tokens).toEqual((await generate(cuda)).tokens);
      } finally {
        await draft.dispose();
      }
    });
  });
}
