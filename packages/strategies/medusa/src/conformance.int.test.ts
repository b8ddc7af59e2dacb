import { readFileSync } from 'node:fs';
import { runTrainedDrafterConformance } from '@decodekit/conformance';
import { medusa, parseMedusaWeights, randomMedusaWeights } from './index.js';

// Trained on stories260K by `decodekit train medusa` (see the README); random heads on the toy models.
const trained = parseMedusaWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);

runTrainedDrafterConformance({
  name: 'medusa',
  trained: () => medusa({ weights: trained }),
  random: ({ vocabSize, lmHead }) =>
    medusa({
      weights: randomMedusaWeights({ vocabSize, hiddenSize: 4, heads: 3, seed: vocabSize }),
      lmHead,
    }),
});
