import { describe, expect, it } from 'vitest';
import { distinctN, repetitionRate, selfBleu, sentenceBleu, wordsOf } from './metrics.js';

describe('metrics', () => {
  it('splits words and punctuation, lower-cased', () => {
    expect(wordsOf("Tom's dog ran. It's FUN!")).toEqual([
      "tom's",
      'dog',
      'ran',
      '.',
      "it's",
      'fun',
      '!',
    ]);
  });

  it.each([
    { texts: ['a b a b'], n: 1, expected: 2 / 4 },
    { texts: ['a b a b'], n: 2, expected: 2 / 3 },
    { texts: ['a b c', 'a b d'], n: 2, expected: 3 / 4 },
    { texts: ['a'], n: 2, expected: 0 },
  ])('distinct-$n of $texts', ({ texts, n, expected }) => {
    expect(distinctN(texts, n)).toBeCloseTo(expected, 10);
  });

  it.each([
    { texts: ['a b c d e'], expected: 0 },
    { texts: ['a b c d a b c d'], expected: 1 - 4 / 5 },
    { texts: ['a b c d a b c d', 'x y'], expected: (1 - 4 / 5) / 2 },
  ])('repetition rate of $texts', ({ texts, expected }) => {
    expect(repetitionRate(texts)).toBeCloseTo(expected, 10);
  });

  it('sentence BLEU matches hand-computed values (NLTK method1)', () => {
    const w = (s: string) => s.split(' ');
    expect(sentenceBleu(w('the cat sat on the mat'), [w('the cat sat on the mat')])).toBeCloseTo(
      1,
      10,
    );
    // p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3; same length as the reference (BP = 1).
    const expected = (((((((5 / 6) * 3) / 5) * 2) / 4) * 1) / 3) ** 0.25;
    expect(sentenceBleu(w('the cat sat on a mat'), [w('the cat sat on the mat')])).toBeCloseTo(
      expected,
      10,
    );
    // brevity penalty: hypothesis of 3 words, closest reference 6 words; no 4-grams → 0.1 / 1.
    expect(sentenceBleu(w('dog'), [w('the cat')])).toBe(0);
    // p1 = 1/4, p2 = 0.1/3, p3 = 0.1/2, p4 = 0.1/1.
    expect(sentenceBleu(w('a b c d'), [w('a x y z')])).toBeCloseTo(
      ((((((1 / 4) * 0.1) / 3) * 0.1) / 2) * 0.1) ** 0.25,
      10,
    );
    const short =
      Math.exp(1 - 6 / 3) *
      Math.exp((Math.log(1) + Math.log(1) + Math.log(1) + Math.log(0.1 / 1)) / 4);
    expect(sentenceBleu(w('the cat sat'), [w('the cat sat on the mat')])).toBeCloseTo(short, 10);
  });

  it('self-BLEU is 1 for identical texts and lower for different ones', () => {
    expect(selfBleu(['the cat sat on the mat', 'the cat sat on the mat'])).toBeCloseTo(1, 10);
    expect(selfBleu(['the cat sat on the mat', 'a dog ran in the park today'])).toBeLessThan(0.2);
    expect(selfBleu(['only one'])).toBe(0);
  });
});
