import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { tokenRecycling } from './index.js';

runStrategyConformance({
  name: 'token-recycling',
  strategy: () => speculative({ drafter: tokenRecycling(), budget: 32 }),
});
