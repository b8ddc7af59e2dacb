import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { nestedSubModel, s2d } from './index.js';

// The real targets are nested sub-models of stories260K (its first n layers); the suite compares s2d
// with autoregressive decoding over the same sub-model. The shared draft is multi-exit: stories260K's first 2
// layers, or its first 3 when the 2-layer exit is less sure than the threshold (per token). The toy drafts have
// two exits too (two toy models), so O-dist checks that a per-token exit choice keeps sampling exact.
let base: Promise<LoadedModel> | undefined;
const loadBase = () => (base ??= loadModel('karpathy/tinyllamas/stories260K'));
let family: ReturnType<typeof s2d> | undefined;
const shared = async () =>
  (family ??= s2d({
    exits: [nestedSubModel(await loadBase(), 2), nestedSubModel(await loadBase(), 3)],
    threshold: 0.5,
  }));

for (const layers of [3, 4]) {
  runStrategyConformance({
    name: `s2d (target = stories260K first ${layers} layers, draft exits = first 2 | 3 layers, τ = 0.5)`,
    // The first-4 suite checks every other bench prompt to keep CI time down.
    promptStride: layers === 4 ? 2 : 1,
    referenceModel: async () => nestedSubModel(await loadBase(), layers),
    async strategy({ model, kind }) {
      if (kind === 'real') return (await shared()).strategy();
      return s2d({
        exits: [
          toyModel({ vocabSize: model.info.vocabSize, seed: 1234 + layers, copyBias: 2 }),
          toyModel({ vocabSize: model.info.vocabSize, seed: 4321 + layers, copyBias: 1 }),
        ],
        threshold: 0.3,
      }).strategy();
    },
    skip:
      layers === 4
        ? {
            'o-greedy-toy': 'toy targets have no layers; the first-3 suite covers them',
            'o-dist': 'as above',
            'o-greedy-real-processors': 'the first-3 suite covers processors',
          }
        : undefined,
  });
}
