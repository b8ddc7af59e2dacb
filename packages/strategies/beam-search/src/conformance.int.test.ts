import { runStrategyConformance } from '@decodekit/conformance';
import { beamSearch } from './index.js';

runStrategyConformance({
  name: 'beam-search (numBeams 1)',
  strategy: () => beamSearch({ numBeams: 1 }),
  skip: {
    'o-dist':
      'beam search is a deterministic search; it does not sample from the target distribution',
  },
});
