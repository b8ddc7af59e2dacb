import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { confidenceHead, withLogitHidden } from './__fixtures__/logit-hidden.js';
import { parseAcceptanceHead, specdecPP } from './index.js';

// The real pair: llama2xs drafts for stories260K with the logistic head fitted by measure.int.test.ts.
let llama2xs: Promise<LoadedModel> | undefined;
const fitted = parseAcceptanceHead(
  readFileSync(resolve(__dirname, '__fixtures__/llama2xs-stories260K-t0.json'), 'utf8'),
);

runStrategyConformance({
  name: 'specdec-pp (greedy drafts)',
  async strategy({ model, kind }) {
    if (kind === 'real')
      return specdecPP({
        model: await (llama2xs ??= loadModel('llama2xs')),
        head: fitted,
        threshold: 0.9,
      });
    const draft = withLogitHidden(
      toyModel({ vocabSize: model.info.vocabSize, seed: 1234, copyBias: 2 }),
    );
    return specdecPP({ model: draft, head: confidenceHead, threshold: 0.8, maxLength: 6 });
  },
});

runStrategyConformance({
  name: 'specdec-pp (sampled drafts, speculative sampling)',
  strategy: ({ model }) =>
    specdecPP({
      model: withLogitHidden(toyModel({ vocabSize: model.info.vocabSize, seed: 99 })),
      head: confidenceHead,
      threshold: 0.6,
      maxLength: 6,
      temperature: 0.9,
    }),
  skip: {
    'o-greedy-real':
      'sampled drafts only matter at T > 0; the greedy suite above covers the real model',
    'o-greedy-real-processors': 'as above',
  },
});
