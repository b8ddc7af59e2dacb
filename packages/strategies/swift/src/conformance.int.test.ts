import { runStrategyConformance } from '@decodekit/conformance';
import { swift } from './index.js';

// The toy models of the suite have no layer skip; swift.test.ts runs the same checks (O-greedy with
// processors, EOS and cuts, O-dist) on a toy model with emulated layer skip.
const toySkip =
  'the conformance toy model has no layerSkip capability; swift.test.ts covers it with an emulated one';

runStrategyConformance({
  name: 'swift',
  strategy: () => swift({ contextWindow: 20, maxToleranceIterations: 20 }),
  skip: { 'o-greedy-toy': toySkip, 'o-dist': toySkip },
});
