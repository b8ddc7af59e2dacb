import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { rsd } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K.
let llama2xs: Promise<LoadedModel> | undefined;
const draftFor = async (vocabSize: number, kind: 'toy' | 'real', seed: number) =>
  kind === 'real'
    ? await (llama2xs ??= loadModel('llama2xs'))
    : toyModel({ vocabSize, seed, copyBias: 2 });

runStrategyConformance({
  name: 'rsd-c (branching 2, depth 3)',
  strategy: async ({ model, kind }) =>
    rsd({ model: await draftFor(model.info.vocabSize, kind, 1234), branching: 2, depth: 3 }),
});

runStrategyConformance({
  name: 'rsd-s (beam width 3, depth 3)',
  strategy: async ({ model, kind }) =>
    rsd({
      model: await draftFor(model.info.vocabSize, kind, 77),
      variant: 'beam',
      beamWidth: 3,
      depth: 3,
    }),
  skip: {
    'o-greedy-real-processors':
      'the rsd-c suite covers processors on the real pair; this one covers every bench prompt',
  },
});
