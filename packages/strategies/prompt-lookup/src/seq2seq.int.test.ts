import { delimiter, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDecoder, speculative } from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { runSeq2SeqConformance } from '@decodekit/conformance';
import { randomSeq2SeqWeights, seq2seqReferenceModel, type Seq2SeqConfig } from '@decodekit/models';
import { fixtureFolders } from '@decodekit/models/testing';
import { promptLookup } from './index.js';

// Chain speculation on an encoder-decoder model: the drafts come from the decoder's own output so far
// (repetitive on the tiny seq2seq fixture, so most steps verify a multi-token draft and commit part of it).
const fixtures = fixtureFolders({
  // eslint-disable-next-line no-process-env -- test fixture: the offline mirror
  modelsRoot: resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models'),
  prefix: 'decodekit-prompt-lookup-seq2seq-',
});
const backend = createCpuBackend();
const toyConfig: Seq2SeqConfig = {
  vocabSize: 8,
  dim: 8,
  heads: 2,
  ffnDim: 16,
  encoderLayers: 1,
  decoderLayers: 1,
  maxPositions: 16,
  layerNormEps: 1e-5,
};

runSeq2SeqConformance({
  name: 'prompt-lookup',
  strategy: () => speculative({ drafter: promptLookup() }),
  model: () => backend.load(fixtures.seq2seq({ seed: 21 }).folder),
  sources: [
    [1, 5, 9, 14, 3],
    [1, 20, 21, 22, 23, 24, 25, 26],
    [1, 30, 4, 30, 4, 30, 4],
  ],
  distributionModel: () =>
    seq2seqReferenceModel(toyConfig, randomSeq2SeqWeights(toyConfig, 4), { eosTokenIds: [] }),
});

describe('prompt-lookup on an encoder-decoder model', () => {
  it('verifies multi-token drafts: fewer decoder forwards than tokens, same tokens as greedy', async () => {
    const model = await backend.load(fixtures.seq2seq({ seed: 21 }).folder);
    const source = [1, 20, 21, 22, 23, 24, 25, 26];
    const greedy = await createDecoder({ model }).generate(
      { tokens: source },
      { maxTokens: 32, temperature: 0 },
    );
    const spec = await createDecoder({ model })
      .use(speculative({ drafter: promptLookup(), adaptive: false }))
      .generate({ tokens: source }, { maxTokens: 32, temperature: 0 });
    expect(spec.tokens).toEqual(greedy.tokens);
    expect(spec.stats.acceptedDraftTokens).toBeGreaterThan(0);
    expect(spec.stats.forwardPasses).toBeLessThan(greedy.stats.forwardPasses);
    expect(spec.stats.encoderCalls).toBe(1);
    await model.dispose();
  });
});
