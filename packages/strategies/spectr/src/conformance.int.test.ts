import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { spectr } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K.
let llama2xs: Promise<LoadedModel> | undefined;

runStrategyConformance({
  name: 'spectr (k = 4, L = 3)',
  async strategy({ model, kind }) {
    const draft =
      kind === 'real'
        ? await (llama2xs ??= loadModel('llama2xs'))
        : toyModel({ vocabSize: model.info.vocabSize, seed: 1234, copyBias: 2 });
    return spectr({ model: draft, k: 4, draftLength: 3 });
  },
});

runStrategyConformance({
  name: 'spectr (k = 2, L = 2, draft temperature 1.3)',
  strategy: ({ model }) =>
    spectr({
      model: toyModel({ vocabSize: model.info.vocabSize, seed: 99 }),
      k: 2,
      draftLength: 2,
      temperature: 1.3,
    }),
  skip: {
    'o-greedy-real': 'the k = 4 suite above covers the real pair',
    'o-greedy-real-processors': 'as above',
  },
});
