export { categorical } from './categorical.js';
export { greedy } from './greedy.js';
export { sampleFromProbabilities } from './sample-from-probabilities.js';
export { seededRandom, type SeededRandom } from './seeded-random.js';
