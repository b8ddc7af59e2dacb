import { readFileSync } from 'node:fs';
import { runTrainedDrafterConformance } from '@decodekit/conformance';
import { fspad, parseFspadWeights, randomFspadWeights } from './index.js';

// Trained on stories260K by `decodekit train fspad` (see the README); random drafters on the toy models.
const trained = parseFspadWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);

// Every other reference prompt: the drafter runs ~20 small matrix products per step in JavaScript, and the suite
// must stay within the CI budget; `decodekit bench` checks all 30 stories prompts for mismatches (0, README).
runTrainedDrafterConformance({
  promptStride: 2,
  name: 'fspad',
  trained: () => fspad({ weights: trained }),
  random: ({ vocabSize, lmHead }) =>
    fspad({
      weights: randomFspadWeights({ vocabSize, hiddenSize: 4, seed: vocabSize, scale: 0.3 }),
      lmHead,
    }),
});
