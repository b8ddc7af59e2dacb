import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { dyspec } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K.
let llama2xs: Promise<LoadedModel> | undefined;
const draftFor = async (vocabSize: number, kind: 'toy' | 'real', seed: number) =>
  kind === 'real'
    ? await (llama2xs ??= loadModel('llama2xs'))
    : toyModel({ vocabSize, seed, copyBias: 2 });

runStrategyConformance({
  name: 'dyspec (Alg. 1, budget 12)',
  strategy: async ({ model, kind }) =>
    dyspec({ model: await draftFor(model.info.vocabSize, kind, 1234), budget: 12 }),
});

runStrategyConformance({
  name: 'dyspec (Alg. 2 threshold 0.05, budget 12)',
  strategy: async ({ model, kind }) =>
    dyspec({
      model: await draftFor(model.info.vocabSize, kind, 77),
      variant: 'threshold',
      threshold: 0.05,
      budget: 12,
    }),
  skip: {
    'o-greedy-real-processors':
      'the Alg. 1 suite covers processors on the real pair; this one covers every bench prompt',
  },
});
