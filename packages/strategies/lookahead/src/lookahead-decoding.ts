import { speculative } from '@decodekit/core';
import type { Strategy, Verifier } from '@decodekit/core';
import { lookahead } from './lookahead.js';
import type { LookaheadOptions } from './lookahead.js';

/** Options of `lookaheadDecoding()`. */
export interface LookaheadDecodingOptions extends LookaheadOptions {
  /** Acceptance rule. Default: the engine's rejection sampling (greedy match at T = 0). */
  verifier?: Verifier;
}

/**
 * Lookahead decoding as a ready strategy: `speculative()` over a `lookahead()` drafter with a budget that
 * fits one full step (W - 1 + (N - 2)·W + G·(N - 1) rows) and the engine's adaptive depth cut switched off,
 * because cutting the Jacobi window's deeper levels would stall its iteration.
 *
 * @example
 * const decoder = createDecoder({ model }).use(lookaheadDecoding({ windowSize: 4, ngramSize: 3, guessSetSize: 2 }));
 */
export function lookaheadDecoding(options: LookaheadDecodingOptions = {}): Strategy {
  const { verifier, ...drafterOptions } = options;
  const drafter = lookahead(drafterOptions);
  return speculative({ drafter, verifier, budget: drafter.rowsPerStep, adaptive: false });
}
