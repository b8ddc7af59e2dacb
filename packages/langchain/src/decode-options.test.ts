import { autoregressive, topK } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { mergeDecodeOptions, toGenerateOptions } from './decode-options.js';

describe('mergeDecodeOptions', () => {
  it('lets defined call options replace instance options and ignores unrelated fields', () => {
    const strategy = autoregressive();
    const processors = [topK(3)];
    const merged = mergeDecodeOptions(
      { temperature: 0.5, maxTokens: 10, strategy, processors, callbacks: [] } as never,
      { maxTokens: 3, temperature: undefined, signal: AbortSignal.abort(), tags: ['x'] } as never,
    );
    expect(merged).toEqual({ temperature: 0.5, maxTokens: 3, strategy, processors });
  });

  it('builds core GenerateOptions with stop strings and the signal only when given', () => {
    const signal = new AbortController().signal;
    expect(toGenerateOptions({ topP: 0.9, processors: [] }, { stop: [], signal })).toEqual({
      topP: 0.9,
      signal,
    });
    expect(toGenerateOptions({}, { stop: ['\n'] })).toEqual({ stop: ['\n'] });
  });
});
