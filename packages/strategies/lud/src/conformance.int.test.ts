import { runStrategyConformance } from '@decodekit/conformance';
import { lud } from './index.js';

// With a threshold above 1 LUD accepts no placeholder prediction: it must equal autoregressive decoding
// exactly, greedy and sampled. (Below 1 it is lossy on any model not fine-tuned for LUD.)
runStrategyConformance({
  name: 'lud (threshold 1.01)',
  strategy: () => lud({ threshold: 1.01, placeholders: 3 }),
});
