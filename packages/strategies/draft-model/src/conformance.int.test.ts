import { speculative, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { draftModel } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K.
let llama2xs: Promise<LoadedModel> | undefined;

runStrategyConformance({
  name: 'draft-model',
  async strategy({ model, kind }) {
    const draft =
      kind === 'real'
        ? await (llama2xs ??= loadModel('llama2xs'))
        : toyModel({ vocabSize: model.info.vocabSize, seed: 1234, copyBias: 2 });
    return speculative({ drafter: draftModel({ model: draft }) });
  },
});

runStrategyConformance({
  name: 'draft-model (sampled drafts, speculative sampling)',
  strategy: ({ model }) =>
    speculative({
      drafter: draftModel({
        model: toyModel({ vocabSize: model.info.vocabSize, seed: 99 }),
        temperature: 0.9,
      }),
    }),
  skip: {
    'o-greedy-real':
      'sampled drafts only matter at T > 0; the greedy variant above covers the real model',
    'o-greedy-real-processors': 'as above',
  },
});
