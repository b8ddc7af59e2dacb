import { describe, expect, it } from 'vitest';
import { StopMatcher } from './stop-matcher.js';

describe('StopMatcher', () => {
  it('holds back a possible stop-string prefix and cuts before the stop string', () => {
    const matcher = new StopMatcher(['THE END']);
    let streamed = '';
    for (const delta of ['Once', ' upon', ' THE', ' E', 'ND', ' more'])
      streamed += matcher.push(delta);
    streamed += matcher.flush();
    expect(matcher.stoppedAt).toBe('Once upon '.length);
    expect(streamed).toBe('Once upon ');
    expect(matcher.finalText).toBe('Once upon ');
  });

  it('streams everything when no stop string is set', () => {
    const matcher = new StopMatcher([]);
    expect(matcher.push('ab')).toBe('ab');
    expect(matcher.flush()).toBe('');
  });

  it('releases held-back text at the end when nothing matched', () => {
    const matcher = new StopMatcher(['xyz']);
    expect(matcher.push('abcx') + matcher.push('y') + matcher.flush()).toBe('abcxy');
    expect(matcher.stoppedAt).toBeUndefined();
  });

  it('never splits a surrogate pair', () => {
    const matcher = new StopMatcher(['ab']);
    const out = matcher.push('x😀');
    expect(out).toBe('x');
    expect(out + matcher.flush()).toBe('x😀');
  });
});
