import { seededRandom } from '../sampling/index.js';
import type { DraftBeginContext, DraftContext } from '../strategy.js';
import type { CausalLM } from '../types.js';

/**
 * A complete `DraftBeginContext` for drafter unit tests: greedy (temperature 0), a seeded draft stream, no
 * signal; override what the test is about.
 */
export function testBeginContext(
  fields: { tokens: readonly number[]; model: CausalLM } & Partial<DraftBeginContext>,
): DraftBeginContext {
  return { random: seededRandom(0), temperature: 0, ...fields };
}

/** A complete `DraftContext` for drafter unit tests: 16 nodes, 100 tokens left, tree-capable, not greedy. */
export function testDraftContext(
  tokens: readonly number[],
  overrides: Partial<DraftContext> = {},
): DraftContext {
  return {
    tokens,
    promptLength: tokens.length,
    maxNodes: 16,
    remaining: 100,
    treeCapable: true,
    greedy: false,
    ...overrides,
  };
}
