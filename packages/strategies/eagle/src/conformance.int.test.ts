import { readFileSync } from 'node:fs';
import { runTrainedDrafterConformance } from '@decodekit/conformance';
import { eagle, parseEagleWeights, randomEagleWeights } from './index.js';

// Trained on stories260K by `decodekit train eagle` (see the README); random drafters on the toy models.
const trained = parseEagleWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);

// Every other reference prompt: the drafter runs ~20 small matrix products per step in JavaScript, and the suite
// must stay within the CI budget; `decodekit bench` checks all 30 stories prompts for mismatches (0, README).
runTrainedDrafterConformance({
  promptStride: 2,
  name: 'eagle',
  trained: () => eagle({ weights: trained }),
  random: ({ vocabSize, lmHead }) =>
    eagle({
      weights: randomEagleWeights({ vocabSize, hiddenSize: 4, seed: vocabSize, scale: 0.3 }),
      lmHead,
    }),
});
