import {
  ContextLengthError,
  InvalidArgumentError,
  mockModel,
  type Tokenizer,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { cfic, splitSentences } from './index.js';

describe('splitSentences', () => {
  it('splits at sentence ends and blank lines with exact offsets', () => {
    const text = ' Tom ran home. "Hi!" said Sue.\n\nThe end? Yes';
    const sentences = splitSentences(text);
    expect(sentences.map(s => s.text)).toEqual([
      'Tom ran home.',
      '"Hi!"',
      'said Sue.',
      'The end?',
      'Yes',
    ]);
    for (const s of sentences) expect(text.slice(s.start, s.end)).toBe(s.text);
  });
});

// Word-level tokenizer over a fixed vocabulary; id 0 = BOS.
const words = [
  '<s>',
  'Tom',
  'ran',
  'home.',
  'ate',
  'cake.',
  'Sue',
  'sang',
  'a',
  'song.',
  'Question:',
  'Evidence:',
  'who',
  'sang?',
  'cake?',
];
const tokenizer = {
  bosTokenId: 0,
  encode: (text: string) =>
    text
      .split(/\s+/)
      .filter(Boolean)
      .map(word => {
        const id = words.indexOf(word);
        if (id < 0) throw new Error(`unknown word ${word}`);
        return id;
      }),
} as unknown as Tokenizer;

/** A reader that, after "sang?", prefers Sue, then sang; after "cake?", prefers Tom, then ate. */
function reader() {
  return mockModel({
    vocabSize: words.length,
    bosTokenId: 0,
    logits: context => {
      const question = context.includes(13) ? 'sang' : 'cake';
      const last = context[context.length - 1];
      const favoured =
        last === 11
          ? question === 'sang'
            ? 6
            : 1
          : last === 1 && question === 'cake'
            ? 4
            : last === 6
              ? 7
              : -1;
      return Array.from({ length: words.length }, (_, i) => (i === favoured ? 3 : 0));
    },
  });
}

describe('cfic', () => {
  const document = 'Tom ran home. Tom ate cake. Sue sang a song.';

  it('returns verbatim sentences ranked by mean prefix log-probability, encoding the document once', async () => {
    const model = reader();
    const reader_ = cfic({
      model,
      tokenizer,
      questionPrefix: ' Question: ',
      evidencePrefix: ' Evidence:',
    });
    const encoded = await reader_.encode(document);
    expect(model.forwardCalls.length).toBe(1);
    const { spans } = await reader_.retrieve(encoded, 'who sang?', { topK: 2 });
    expect(spans[0]).toMatchObject({ text: 'Sue sang a song.', sentence: 2, prefixTokens: 1 });
    expect(spans.length).toBe(2);
    for (const span of spans) expect(document.slice(span.start, span.end)).toBe(span.text);
    const cake = await reader_.retrieve(encoded, 'cake?', { topK: 1 });
    expect(cake.spans.map(s => s.text)).toEqual(['Tom ate cake.']);
    expect(cake.spans[0].prefixTokens).toBe(2);
    // The document was never fed again: every later call starts after it.
    expect(model.forwardCalls.slice(1).every(call => call.prefixLength >= encoded.length)).toBe(
      true,
    );
    encoded.dispose();
  });

  it('skip decoding returns the same spans with fewer forward passes', async () => {
    const reader_ = cfic({
      model: reader(),
      tokenizer,
      questionPrefix: ' Question: ',
      evidencePrefix: ' Evidence:',
    });
    const encoded = await reader_.encode(document);
    const skipped = await reader_.retrieve(encoded, 'who sang?', { topK: 3 });
    const full = await reader_.retrieve(encoded, 'who sang?', { topK: 3, skip: false });
    expect(full.spans).toEqual(skipped.spans);
    expect(skipped.spans.length).toBe(3);
    expect(skipped.forwardPasses).toBeLessThan(full.forwardPasses);
  });

  it('validates inputs', async () => {
    const reader_ = cfic({ model: reader(), tokenizer });
    await expect(reader_.encode('  ')).rejects.toThrow(InvalidArgumentError);
    const other = await cfic({ model: reader(), tokenizer }).encode(document);
    await expect(reader_.retrieve(other, 'who sang?')).rejects.toThrow(InvalidArgumentError);
    const small = cfic({
      model: mockModel({
        vocabSize: words.length,
        contextLength: 8,
        logits: () => new Float32Array(words.length),
      }),
      tokenizer,
    });
    await expect(small.encode(document)).rejects.toThrow(ContextLengthError);
    expect(() => cfic({ model: undefined as never, tokenizer })).toThrow(InvalidArgumentError);
  });
});
