import { readFileSync } from 'node:fs';
import { seededRandom, speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { medusa, parseMedusaWeights, randomMedusaWeights } from './index.js';

// Trained on stories260K by `decodekit train medusa` (see the README); random heads on the toy models,
// whose hidden state is read back through a random LM head: exactness must not depend on draft quality.
const trained = parseMedusaWeights(
  readFileSync(new URL('../weights/stories260K/weights.json', import.meta.url), 'utf8'),
);
const toyHeads = new Map<
  number,
  { weights: ReturnType<typeof randomMedusaWeights>; lmHead: Float32Array }
>();
function toyDrafter(vocabSize: number) {
  let entry = toyHeads.get(vocabSize);
  if (!entry) {
    const random = seededRandom(vocabSize);
    entry = {
      weights: randomMedusaWeights({ vocabSize, hiddenSize: 4, heads: 3, seed: vocabSize }),
      lmHead: Float32Array.from({ length: vocabSize * 4 }, () => random.next() * 2 - 1),
    };
    toyHeads.set(vocabSize, entry);
  }
  return medusa(entry);
}

runStrategyConformance({
  name: 'medusa',
  strategy: ({ model, kind }) =>
    speculative({
      drafter: kind === 'toy' ? toyDrafter(model.info.vocabSize) : medusa({ weights: trained }),
    }),
});
