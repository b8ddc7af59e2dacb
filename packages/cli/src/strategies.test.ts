/** withFixedDraftSizing: bench's --no-adaptive turns every drafter's adaptive sizing off, and nothing else. */
import { describe, expect, it } from 'vitest';
import { withFixedDraftSizing } from './strategies.js';

describe('withFixedDraftSizing', () => {
  it('adds adaptive=false to a drafter spec that does not set adaptive', () => {
    expect(withFixedDraftSizing('token-recycling')).toBe('token-recycling:adaptive=false');
    expect(withFixedDraftSizing('eagle:depth=5')).toBe('eagle:depth=5,adaptive=false');
    expect(withFixedDraftSizing('eagle:depth=5;topK=2', ';')).toBe(
      'eagle:depth=5;topK=2;adaptive=false',
    );
  });

  it('keeps a spec that sets adaptive itself, and specs that are not drafters', () => {
    expect(withFixedDraftSizing('prompt-lookup:adaptive=true')).toBe('prompt-lookup:adaptive=true');
    expect(withFixedDraftSizing('beam-search')).toBe('beam-search');
  });

  it('rejects an unknown strategy with the catalogue’s typed error', () => {
    expect(() => withFixedDraftSizing('no-such-strategy')).toThrow(/unknown strategy/);
  });
});
