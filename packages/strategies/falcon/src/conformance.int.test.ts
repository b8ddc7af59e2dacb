import { readFileSync } from 'node:fs';
import { runTrainedDrafterConformance } from '@decodekit/conformance';
import { falcon, parseFalconWeights, randomFalconWeights } from './index.js';

// Trained on stories260K by `decodekit train falcon` (see the README); random drafters on the toy models.
const trained = parseFalconWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);

// Every other reference prompt: the drafter runs ~20 small matrix products per step in JavaScript, and the suite
// must stay within the CI budget; `decodekit bench` checks all 30 stories prompts for mismatches (0, README).
runTrainedDrafterConformance({
  promptStride: 2,
  name: 'falcon',
  trained: () => falcon({ weights: trained }),
  random: ({ vocabSize, lmHead }) =>
    falcon({
      weights: randomFalconWeights({ vocabSize, hiddenSize: 4, seed: vocabSize, scale: 0.3 }),
      lmHead,
      // A small tree: exactness does not depend on its size, and O-dist draws 100,000 samples.
      depth: 3,
      topK: 2,
      totalTokens: 6,
    }),
});
