import { readFileSync } from 'node:fs';
import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { withInputEmbeddings } from './__fixtures__/embeddings-model.js';
import { parsePpdWeights, ppd, randomPpdWeights } from './index.js';

// Trained on stories260K by `decodekit train ppd` (see the README). The toy models take no input embeddings,
// so their prompt rows run through a wrapper that reads the rows' ids, with random prompt embeddings:
// exactness must not depend on draft quality.
const trained = parsePpdWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);

runStrategyConformance({
  name: 'ppd',
  strategy: ({ model, kind }) =>
    speculative({
      drafter:
        kind === 'toy'
          ? ppd({
              weights: randomPpdWeights({
                vocabSize: model.info.vocabSize,
                hiddenSize: 4,
                seed: model.info.vocabSize,
              }),
              fused: false,
              draftModel: withInputEmbeddings(model),
            })
          : ppd({ weights: trained }),
    }),
});
