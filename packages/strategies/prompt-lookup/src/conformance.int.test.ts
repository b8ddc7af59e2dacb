import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { promptLookup } from './index.js';

runStrategyConformance({
  name: 'prompt-lookup',
  strategy: () => speculative({ drafter: promptLookup() }),
});
runStrategyConformance({
  name: 'prompt-lookup (3 branches, tree)',
  strategy: () => speculative({ drafter: promptLookup({ branches: 3 }) }),
  skip: { 'o-dist': 'same verifier path as the chain variant, checked above' },
});
