import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { onlineSpeculative } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K.
let llama2xs: Promise<LoadedModel> | undefined;

// One strategy per suite run, so the correction keeps learning across the suite's generations: exactness
// must hold while q changes between steps.
runStrategyConformance({
  name: 'online-sd (bigram correction, lr 0.5)',
  async strategy({ model, kind }) {
    const draft =
      kind === 'real'
        ? await (llama2xs ??= loadModel('llama2xs'))
        : toyModel({ vocabSize: model.info.vocabSize, seed: 1234, copyBias: 2 });
    return onlineSpeculative({ model: draft, learningRate: 0.5 });
  },
});

runStrategyConformance({
  name: 'online-sd (global bias, lr 2, draft temperature 0.7)',
  strategy: ({ model }) =>
    onlineSpeculative({
      model: toyModel({ vocabSize: model.info.vocabSize, seed: 99 }),
      learningRate: 2,
      correction: 'bias',
      temperature: 0.7,
    }),
  skip: {
    'o-greedy-real': 'the suite above covers the real pair',
    'o-greedy-real-processors': 'as above',
  },
});
