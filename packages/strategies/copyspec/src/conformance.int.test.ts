import { speculative } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { copyspec } from './index.js';

runStrategyConformance({ name: 'copyspec', strategy: () => speculative({ drafter: copyspec() }) });
runStrategyConformance({
  name: 'copyspec + token-recycling fallback',
  strategy: () => speculative({ drafter: copyspec({ fallback: tokenRecycling() }), budget: 8 }),
});
