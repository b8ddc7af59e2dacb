import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { lookahead } from './index.js';

runStrategyConformance({
  name: 'lookahead (W=4, N=3, G=2)',
  strategy: () => {
    const drafter = lookahead({ windowSize: 4, ngramSize: 3, guessSetSize: 2 });
    return speculative({ drafter, budget: drafter.rowsPerStep, adaptive: false });
  },
});
runStrategyConformance({
  name: 'lookahead (paper defaults W=7, N=5, G=7, pool from prompt)',
  strategy: () => {
    const drafter = lookahead({ poolFromPrompt: true });
    return speculative({ drafter, budget: drafter.rowsPerStep, adaptive: false });
  },
  skip: {
    'o-dist': 'same verifier path as the variant above; the sampled histogram is checked there',
  },
});
