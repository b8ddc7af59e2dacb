import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { bm25Index, bm25Parameters, bm25Scores } from './bm25.js';
import { analyzeText, termId, textTermIds } from './text-analyzer.js';

/**
 * BM25 by hand for one term, written independently of the code: Lucene's IDF simplifies to
 * ln((N + 1) / (n + 0.5)), and the saturation is tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avgdl)).
 */
function termScore(n: number, f: number, length: number, settings: Partial<Settings> = {}): number {
  const { N, avgdl, k1, b } = { N: 3, avgdl: 4, k1: 1.2, b: 0.75, ...settings };
  const saturation = (f * (k1 + 1)) / (f + k1 * (1 - b + (b * length) / avgdl));
  return Math.log((N + 1) / (n + 0.5)) * saturation;
}
interface Settings {
  N: number;
  avgdl: number;
  k1: number;
  b: number;
}

// Three documents, lengths 4, 2 and 6 terms (avgdl = 4).
const corpus: [string, string][] = [
  ['a', 'the cat sat down'],
  ['b', 'dog barked'],
  ['c', 'the cat and the other cat'],
];

describe('analyzeText', () => {
  it.each([
    { text: 'The Cat sat.', terms: ['the', 'cat', 'sat'] },
    { text: "Lily's ball, Tom’s cake", terms: ['lilys', 'ball', 'toms', 'cake'] },
    { text: "rock'n'roll isn't 'quoted'", terms: ['rocknroll', 'isnt', 'quoted'] },
    { text: 'Ｆｕｌｌ width 42x', terms: ['full', 'width', '42x'] },
    { text: 'café naïve', terms: ['café', 'naïve'] },
    { text: '  ...  ', terms: [] },
  ])('$text', ({ text, terms }) => {
    expect(analyzeText(text)).toEqual(terms);
    expect(textTermIds(text)).toEqual(terms.map(termId));
  });

  it('term ids are stable 32-bit FNV-1a values', () => {
    expect(termId('')).toBe(0x811c9dc5 | 0);
    expect(termId('a')).toBe(0xe40c292c | 0);
    expect(termId('cat')).not.toBe(termId('act'));
  });
});

describe('bm25Index', () => {
  const index = bm25Index<string, string>();
  for (const [key, text] of corpus) index.set(key, analyzeText(text));

  it.each([
    { query: 'cat', expected: { a: termScore(2, 1, 4), c: termScore(2, 2, 6) } },
    { query: 'dog', expected: { b: termScore(1, 1, 2) } },
    {
      query: 'the dog',
      expected: { a: termScore(2, 1, 4), b: termScore(1, 1, 2), c: termScore(2, 2, 6) },
    },
    // Each query occurrence counts.
    { query: 'cat cat', expected: { a: 2 * termScore(2, 1, 4), c: 2 * termScore(2, 2, 6) } },
    { query: 'unicorn', expected: {} },
  ])('scores "$query" as computed by hand (only matching documents)', ({ query, expected }) => {
    const scores = index.scores(analyzeText(query));
    expect([...scores.keys()]).toEqual(Object.keys(expected));
    for (const [key, value] of Object.entries(expected))
      expect(scores.get(key)).toBeCloseTo(value, 12);
  });

  it('replaces and deletes documents, updating N, document frequencies and avgdl', () => {
    const changing = bm25Index<string, string>();
    for (const [key, text] of corpus) changing.set(key, analyzeText(text));
    changing.set('d', analyzeText('a bird'));
    changing.set('d', analyzeText('dog dog')); // replaced: lengths 4, 2, 6, 2
    expect(changing.size).toBe(4);
    expect(changing.scores(['dog']).get('d')).toBeCloseTo(
      termScore(2, 2, 2, { N: 4, avgdl: 3.5 }),
      12,
    );
    changing.delete('d');
    changing.delete('missing');
    expect(changing.size).toBe(3);
    expect(changing.scores(['dog'])).toEqual(index.scores(['dog']));
    expect(changing.scores(['bird']).size).toBe(0);
  });

  it('bm25Scores scores bags of ids in order, 0 without a query term', () => {
    const chunks = [
      [1, 2, 3],
      [4, 5, 6],
      [1, 9, 9],
      [1, 7, 8],
    ];
    const scores = bm25Scores(chunks, [1, 9]);
    expect(scores[1]).toBe(0);
    expect(scores[2]).toBeGreaterThan(scores[0]);
    expect(scores[0]).toBeCloseTo(scores[3], 12);
    expect(scores[0]).toBeCloseTo(termScore(3, 1, 3, { N: 4, avgdl: 3 }), 12);
  });

  it('validates its parameters', () => {
    expect(bm25Parameters()).toEqual({ k1: 1.2, b: 0.75 });
    expect(() => bm25Index({ k1: -1 })).toThrow(InvalidArgumentError);
    expect(() => bm25Index({ b: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => bm25Parameters({ k1: Number.NaN })).toThrow(InvalidArgumentError);
  });
});
