import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { cppd, cppdCharset, cppdDecode, type NarOutput } from './index.js';

const CHARSET = ['</s>', 'a', 'b'];
// [2 rows, 4 positions, 3 classes] of probabilities.
const SCORES: NarOutput = {
  dims: [2, 4, 3],
  data: [
    // row 0: a, b, </s> | (a ignored)
    0.1, 0.7, 0.2, 0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 0.1, 0.8, 0.1,
    // row 1: </s> first: empty
    0.9, 0.05, 0.05, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.8,
  ],
};

describe('cppdDecode (PaddleOCR CPPDLabelDecode on fixed tensors)', () => {
  it.each([
    { confidence: 'mean' as const, expected: [0.6, Number.NaN] },
    { confidence: 'product' as const, expected: [0.35, 1] },
  ])('argmax per position, cut at </s>, confidence by $confidence', ({ confidence, expected }) => {
    const [first, empty] = cppdDecode(SCORES, { charset: CHARSET, confidence });
    expect(first.text).toBe('ab');
    expect(first.ids).toEqual([1, 2]);
    expect(first.probabilities).toEqual([0.7, 0.5]);
    expect(first.confidence).toBeCloseTo(expected[0], 10);
    expect(empty).toMatchObject({ text: '', ids: [] });
    if (Number.isNaN(expected[1])) expect(empty.confidence).toBeNaN();
    else expect(empty.confidence).toBe(expected[1]);
  });

  it('logits get a softmax per position; "none" classes cut like the end token', () => {
    const logits: NarOutput = { dims: [3, 4], data: [0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 5] };
    const [result] = cppdDecode(logits, {
      scores: 'logits',
      endIds: [0, 3],
      confidence: 'product',
    });
    expect(result.ids).toEqual([1, 2]);
    const first = Math.exp(2) / (Math.exp(2) + 3);
    const second = Math.exp(3) / (Math.exp(3) + 3);
    expect(result.probabilities[0]).toBeCloseTo(first, 10);
    expect(result.confidence).toBeCloseTo(first * second, 10);
    expect(result.text).toBeUndefined();
  });

  it('skips ids outside the charset, as PaddleOCR does', () => {
    const scores: NarOutput = { dims: [3, 4], data: [0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0] };
    const [result] = cppdDecode(scores, { charset: CHARSET });
    expect(result).toMatchObject({ ids: [1], text: 'a', confidence: 1 });
  });

  it('the English charset has the paper’s 37 classes', () => {
    const charset = cppdCharset();
    expect(charset).toHaveLength(37);
    expect(charset[0]).toBe('</s>');
    expect(charset[1]).toBe('0');
    expect(cppdCharset('ab', { useSpaceChar: true })).toEqual(['</s>', 'a', 'b', ' ']);
  });

  it.each([
    [{ dims: [2, 3, 2], data: [0, 1] }, {}, /need 12 values/],
    [{ dims: [6], data: [0, 1, 0, 1, 0, 1] }, {}, /\[batch, positions, classes\]/],
    [SCORES, { endIds: [5] }, /class 5 does not exist/],
    [SCORES, { endIds: [] }, /at least one/],
    [SCORES, { confidence: 'max' }, /"mean" or "product"/],
    [SCORES, { scores: 'odds' }, /"probabilities" or "logits"/],
  ])('bad input %# is an InvalidArgumentError', (output, options, message) => {
    const call = () => cppdDecode(output as NarOutput, options as Parameters<typeof cppdDecode>[1]);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it('cppd() checks its options once, and recognize honours an aborted signal', async () => {
    expect(() => cppd({ confidence: 'max' as 'mean' })).toThrow(InvalidArgumentError);
    const decoder = cppd({ charset: CHARSET });
    let calls = 0;
    const model = async () => ((calls += 1), SCORES);
    const results = await decoder.recognize(model, undefined);
    expect(results.map(result => result.text)).toEqual(['ab', '']);
    expect(calls).toBe(1);
    const controller = new AbortController();
    controller.abort();
    await expect(
      decoder.recognize(model, undefined, { signal: controller.signal }),
    ).rejects.toThrow();
    expect(calls).toBe(1);
  });
});
