import type { CausalLM, DraftUpdater, LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { onlineSd } from './index.js';

/**
 * An updater whose every "update" is another toy draft (a different distribution each time), so O-dist
 * runs across tens of thousands of hot swaps. Real weight distillation and swaps on stories260K are
 * checked in distilled-swap.int.test.ts.
 */
function swappingUpdater(next: (version: number) => CausalLM): DraftUpdater {
  let version = 0;
  return { name: 'swap-test', update: async () => next(++version) };
}

// The real pair: llama2xs (same tok512 vocabulary, weaker) drafts for stories260K; loaded once.
let llama2xs: Promise<LoadedModel> | undefined;

runStrategyConformance({
  name: 'online-sd (toy draft swapped after every generation)',
  async strategy({ model, kind }) {
    if (kind === 'real') return onlineSd({ model: await (llama2xs ??= loadModel('llama2xs')) });
    const vocabSize = model.info.vocabSize;
    return onlineSd({
      model: toyModel({ vocabSize, seed: 1234, copyBias: 2 }),
      updater: swappingUpdater(version =>
        toyModel({ vocabSize, seed: 1234 + version, copyBias: version % 3 }),
      ),
      updateInterval: 1,
    });
  },
});

runStrategyConformance({
  name: 'online-sd (draft temperature 0.7, swap every 8)',
  strategy: ({ model }) =>
    onlineSd({
      model: toyModel({ vocabSize: model.info.vocabSize, seed: 99 }),
      updater: swappingUpdater(version =>
        toyModel({ vocabSize: model.info.vocabSize, seed: 99 + 7 * version }),
      ),
      temperature: 0.7,
    }),
  skip: {
    'o-greedy-real': 'the suite above covers the real pair',
    'o-greedy-real-processors': 'as above',
  },
});
