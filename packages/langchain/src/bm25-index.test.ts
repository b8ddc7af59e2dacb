import { InvalidArgumentError } from '@decodekit/core';
import { fc, test } from '@fast-check/vitest';
import { assert, describe, expect, it } from 'vitest';
import { bm25Index, defaultTokenize } from './bm25-index.js';

/** The BM25 score of the first document (id "0") for the query "cat". */
function firstScore(documents: { text: string }[]): number {
  const score = bm25Index(documents).scores('cat').get('0');
  assert(score !== undefined, 'every document gets a score');
  return score;
}

// Three documents, lengths 4, 2 and 6 terms (avgdl = 4).
const corpus = [
  { id: 'a', text: 'the cat sat down' },
  { id: 'b', text: 'dog barked' },
  { id: 'c', text: 'the cat and the other cat' },
];

/** BM25 by hand for one term: idf · f · (k1 + 1) / (f + k1 · (1 − b + b · len / avgdl)). */
function termScore(
  n: number,
  f: number,
  length: number,
  { N = 3, avgdl = 4, k1 = 1.2, b = 0.75 } = {},
): number {
  const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
  return (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * length) / avgdl));
}

describe('defaultTokenize', () => {
  it.each([
    { text: 'The Cat sat.', terms: ['the', 'cat', 'sat'] },
    { text: "Lily's ball, Tom’s cake", terms: ['lilys', 'ball', 'toms', 'cake'] },
    { text: 'Ｆｕｌｌ width 42x', terms: ['full', 'width', '42x'] },
    { text: 'café naïve', terms: ['café', 'naïve'] },
    { text: '  ...  ', terms: [] },
  ])('$text', ({ text, terms }) => {
    expect(defaultTokenize(text)).toEqual(terms);
  });
});

describe('bm25Index', () => {
  it.each([
    { query: 'cat', expected: { a: termScore(2, 1, 4), b: 0, c: termScore(2, 2, 6) } },
    { query: 'dog', expected: { a: 0, b: termScore(1, 1, 2), c: 0 } },
    {
      query: 'the dog',
      expected: { a: termScore(2, 1, 4), b: termScore(1, 1, 2), c: termScore(2, 2, 6) },
    },
    // Each query occurrence counts.
    { query: 'cat cat', expected: { a: 2 * termScore(2, 1, 4), b: 0, c: 2 * termScore(2, 2, 6) } },
    { query: 'unicorn', expected: { a: 0, b: 0, c: 0 } },
  ])('scores "$query" as computed by hand', ({ query, expected }) => {
    const scores = bm25Index(corpus).scores(query);
    for (const [id, value] of Object.entries(expected))
      expect(scores.get(id)).toBeCloseTo(value, 10);
  });

  it.each([
    { b: 0, expected: termScore(2, 1, 4, { b: 0 }) },
    { b: 1, expected: termScore(2, 1, 4, { b: 1 }) },
  ])('applies length normalisation b=$b', ({ b, expected }) => {
    expect(bm25Index(corpus, { b }).scores('cat').get('a')).toBeCloseTo(expected, 10);
  });

  it('k1 = 0 ignores term frequency (the score is the IDF)', () => {
    const scores = bm25Index(corpus, { k1: 0 }).scores('cat');
    const c = scores.get('c');
    assert(c !== undefined, 'document c matches cat');
    expect(scores.get('a')).toBeCloseTo(c, 12);
  });

  it('ranks, cuts at k, drops non-matching documents and keeps metadata', async () => {
    const index = bm25Index([...corpus, { id: 'd', text: 'a bird', metadata: { source: 'x' } }]);
    const hits = await index.search('cat bird', 2);
    expect(hits.map(hit => hit.id)).toEqual(['d', 'c']);
    expect(hits[0]).toMatchObject({ text: 'a bird', metadata: { source: 'x' } });
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    expect(await index.search('unicorn', 3)).toEqual([]);
    expect(await index.search('the', 10)).toHaveLength(2);
  });

  it('breaks ties by insertion order', async () => {
    const index = bm25Index([{ text: 'red ball' }, { text: 'ball red' }, { text: 'red ball' }]);
    expect((await index.search('ball', 3)).map(hit => hit.id)).toEqual(['0', '1', '2']);
  });

  it('updates IDF and average length when documents are added', async () => {
    const index = bm25Index(corpus.slice(0, 2));
    expect(index.size).toBe(2);
    index.add([corpus[2]]);
    expect(index.size).toBe(3);
    expect(index.scores('cat').get('c')).toBeCloseTo(termScore(2, 2, 6), 10);
  });

  it('uses a custom analyzer for documents and queries', async () => {
    const index = bm25Index([{ text: 'A-B' }, { text: 'c' }], {
      tokenize: text => text.split('-'),
    });
    expect((await index.search('B', 1)).map(hit => hit.id)).toEqual(['0']);
  });

  it.each([
    { name: 'negative k1', run: () => bm25Index([], { k1: -1 }), argument: 'k1' },
    { name: 'b above 1', run: () => bm25Index([], { b: 1.5 }), argument: 'b' },
    { name: 'a missing text', run: () => bm25Index([{} as never]), argument: 'documents[0]' },
    {
      name: 'a duplicate id',
      run: () =>
        bm25Index([
          { id: 'x', text: '' },
          { id: 'x', text: '' },
        ]),
      argument: 'documents[1].id',
    },
  ])('rejects $name', ({ run, argument }) => {
    const error = (() => {
      try {
        run();
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('rejects a bad k and leaves the index unchanged after a bad batch', async () => {
    const index = bm25Index(corpus);
    await expect(index.search('cat', 0)).rejects.toThrow(/positive integer/);
    expect(() =>
      index.add([
        { id: 'e', text: 'fine' },
        { id: 'a', text: 'taken' },
      ]),
    ).toThrow(/unique/);
    expect(index.size).toBe(3);
  });

  test.prop([
    fc.array(fc.constantFrom('cat', 'dog', 'sat', 'ran'), { minLength: 1, maxLength: 8 }),
    fc.nat(4),
  ])('one more occurrence of a query term never lowers a document’s score', (terms, extra) => {
    const others = [{ text: 'dog ran' }, { text: 'cat sat sat' }];
    const before = firstScore([{ text: terms.join(' ') }, ...others]);
    const after = firstScore([
      { text: [...terms, 'cat', ...Array(extra).fill('ran')].join(' ') },
      ...others,
    ]);
    // Extra non-query terms lengthen the document; compare against the same length without the extra cat.
    const sameLength = firstScore([
      { text: [...terms, 'ran', ...Array(extra).fill('ran')].join(' ') },
      ...others,
    ]);
    expect(after).toBeGreaterThan(sameLength);
    expect(before).toBeGreaterThanOrEqual(0);
  });
});
