import { readFileSync } from 'node:fs';
import { seededRandom, speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { fspad, parseFspadWeights, randomFspadWeights } from './index.js';

// Trained on stories260K by `decodekit train fspad` (see the README); random drafters on the toy models,
// whose features are read back through a random LM head: exactness must not depend on draft quality.
const trained = parseFspadWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);
const toyHeads = new Map<
  number,
  { weights: ReturnType<typeof randomFspadWeights>; lmHead: Float32Array }
>();
function toyDrafter(vocabSize: number) {
  let entry = toyHeads.get(vocabSize);
  if (!entry) {
    const random = seededRandom(vocabSize);
    entry = {
      weights: randomFspadWeights({ vocabSize, hiddenSize: 4, seed: vocabSize, scale: 0.3 }),
      lmHead: Float32Array.from({ length: vocabSize * 4 }, () => random.next() * 2 - 1),
    };
    toyHeads.set(vocabSize, entry);
  }
  return fspad(entry);
}

// Every other reference prompt: the drafter runs ~20 small matrix products per step in JavaScript, and the suite
// must stay within the CI budget; `decodekit bench` checks all 30 stories prompts for mismatches (0, README).
runStrategyConformance({
  promptStride: 2,
  name: 'fspad',
  strategy: ({ model, kind }) =>
    speculative({
      drafter: kind === 'toy' ? toyDrafter(model.info.vocabSize) : fspad({ weights: trained }),
    }),
});
