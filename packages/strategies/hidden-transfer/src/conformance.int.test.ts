import { readFileSync } from 'node:fs';
import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { withLayerSplit } from './__fixtures__/split-model.js';
import {
  hiddenTransfer,
  parseHiddenTransferWeights,
  randomHiddenTransferWeights,
} from './index.js';

// Trained on stories260K by `decodekit train hidden-transfer` (see the README). The toy models have no layers to
// split, so their draft forwards run through a wrapper that reads the rows' ids, with random projections:
// exactness must not depend on draft quality.
const trained = parseHiddenTransferWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);

runStrategyConformance({
  name: 'hidden-transfer',
  strategy: ({ model, kind }) =>
    speculative({
      drafter:
        kind === 'toy'
          ? hiddenTransfer({
              weights: randomHiddenTransferWeights({
                vocabSize: model.info.vocabSize,
                hiddenSize: 4,
                seed: model.info.vocabSize,
              }),
              draftModel: withLayerSplit(model),
            })
          : hiddenTransfer({ weights: trained }),
    }),
});
