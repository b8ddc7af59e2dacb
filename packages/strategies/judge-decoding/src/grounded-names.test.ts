import { InvalidArgumentError, type Tokenizer } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { characterNames, foreignNames, groundedNamesLabeler } from './grounded-names.js';

/** A tokenizer whose token i is the i-th piece; enough for the labeler (tokenBytes, decode). */
function pieceTokenizer(pieces: string[]): Tokenizer {
  const encoder = new TextEncoder();
  return {
    vocabSize: pieces.length,
    eosTokenIds: [],
    encode: () => [],
    decode: ids => ids.map(id => pieces[id]).join(''),
    idToToken: id => pieces[id],
    tokenBytes: id => encoder.encode(pieces[id]),
    applyChatTemplate: () => '',
  };
}

describe('characterNames', () => {
  it('collects words capitalised mid-sentence, at least minCount times', () => {
    const corpus = [
      'Once upon a time, there was a girl named Lily. Lily liked to play with Tom.',
      'One day, Lily and Tom went out. Mom said, "Come back!" Then Tom ran to Lily.',
      'The dog saw Spot. I like it.',
    ];
    expect([...characterNames(corpus)].sort()).toEqual(['Lily', 'Tom']);
    // Sentence-initial words (Once, One, The, Then) and quote openers never count; "I" is not a name.
    expect([...characterNames(corpus, { minCount: 1 })].sort()).toEqual(['Lily', 'Spot', 'Tom']);
    expect(() => characterNames(corpus, { minCount: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('foreignNames', () => {
  const names = new Set(['Lily', 'Tom', 'Spot']);
  it('lists names the context never mentions, with their offsets', () => {
    expect(foreignNames('Lily had a ball.', ' Lily gave it to Tom. Tom said hi.', names)).toEqual([
      { name: 'Tom', start: 17, end: 20 },
      { name: 'Tom', start: 22, end: 25 },
    ]);
    expect(foreignNames('Lily and Tom', ' Tom hugged Lily.', names)).toEqual([]);
    // Whole words only: "Tommy" is not "Tom", and a name inside another word does not count.
    expect(foreignNames('Lily', ' Tommy and Spotty', names)).toEqual([]);
  });
});

describe('groundedNamesLabeler', () => {
  const pieces = ['<s>', 'Lily', ' had', ' a', ' T', 'om', ' ball', '.', ' Sp', 'ot'];
  const tokenizer = pieceTokenizer(pieces);
  const label = groundedNamesLabeler({ tokenizer, names: new Set(['Lily', 'Tom', 'Spot']) });
  const logits = new Float32Array(0);
  it('labels every token of a name the context lacks 0, and the rest 1', () => {
    // Context "Lily had a ball." mentions Lily only; the continuation " Tom had Spot." invents two names.
    const prompt = [1, 2, 3, 6, 7];
    const continuation = [4, 5, 2, 8, 9, 7];
    expect(label({ prompt, continuation, logits, vocabSize: pieces.length })).toEqual([
      0, 0, 1, 0, 0, 1,
    ]);
    // A name the context has is correct, however unlikely the target finds it.
    expect(
      label({ prompt: [1, 2, 4, 5], continuation: [4, 5, 7], logits, vocabSize: pieces.length }),
    ).toEqual([1, 1, 1]);
  });
  it('validates its options', () => {
    expect(() => groundedNamesLabeler({ tokenizer, names: new Set() })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      groundedNamesLabeler({ tokenizer: {} as Tokenizer, names: new Set(['Lily']) }),
    ).toThrow(InvalidArgumentError);
  });
});
