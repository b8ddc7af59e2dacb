import type { CausalLM, DraftUpdater, LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { onlineSd } from './index.js';

/**
 * An updater whose every "update" is another draft model: a different toy model each time (so O-dist runs
 * across ~100,000 hot swaps of drafts with different distributions), or a freshly loaded llama2xs for
 * stories260K. Real weight distillation is checked in @decodekit/train's online-distiller.int.test.ts.
 */
function swappingUpdater(next: (version: number) => CausalLM | Promise<CausalLM>): DraftUpdater {
  let version = 0;
  return { name: 'swap-test', update: async () => next(++version) };
}

runStrategyConformance({
  name: 'online-sd (draft swapped after every generation)',
  async strategy({ model, kind }) {
    const vocabSize = model.info.vocabSize;
    const draft: CausalLM =
      kind === 'real'
        ? await loadModel('llama2xs')
        : toyModel({ vocabSize, seed: 1234, copyBias: 2 });
    const updater = swappingUpdater(version =>
      kind === 'real'
        ? (loadModel('llama2xs') as Promise<LoadedModel>)
        : toyModel({ vocabSize, seed: 1234 + version, copyBias: version % 3 }),
    );
    return onlineSd({ model: draft, updater, updateInterval: 1 });
  },
});

runStrategyConformance({
  name: 'online-sd (frozen draft, draft temperature 0.7, swap every 8)',
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
