import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { pearl } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K.
let llama2xs: Promise<LoadedModel> | undefined;

runStrategyConformance({
  name: 'pearl (greedy drafts, γ = 4)',
  async strategy({ model, kind }) {
    const draft =
      kind === 'real'
        ? await (llama2xs ??= loadModel('llama2xs'))
        : toyModel({ vocabSize: model.info.vocabSize, seed: 1234, copyBias: 2 });
    return pearl({ model: draft, gamma: 4 });
  },
});

runStrategyConformance({
  name: 'pearl (sampled drafts, speculative sampling, γ = 3)',
  strategy: ({ model }) =>
    pearl({
      model: toyModel({ vocabSize: model.info.vocabSize, seed: 99 }),
      gamma: 3,
      temperature: 0.9,
    }),
  skip: {
    'o-greedy-real':
      'sampled drafts only matter at T > 0; the greedy suite above covers the real model',
    'o-greedy-real-processors': 'as above',
  },
});
