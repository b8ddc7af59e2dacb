import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import { parsePromptSet, readPromptSet } from './prompt-set.js';

describe('prompt sets', () => {
  it('reads the repository prompt set', async () => {
    const prompts = await readPromptSet(
      fileURLToPath(new URL('../../../bench/stories.jsonl', import.meta.url)),
    );
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts[0]).toMatchObject({ id: 'story-00', max_tokens: 128 });
    expect(typeof prompts[0].prompt).toBe('string');
  });

  it.each([
    {
      text: '{"id":"a","prompt":"x"}\n\n{"id":"b","prompt":"y","max_tokens":4}\n',
      ids: ['a', 'b'],
    },
  ])('skips blank lines', ({ text, ids }) => {
    expect(parsePromptSet(text).map(prompt => prompt.id)).toEqual(ids);
  });

  it.each([
    { text: '{"id":"a"', message: /:1 is not valid JSON/ },
    { text: '{"id":1,"prompt":"x"}', message: /string "id"/ },
    { text: '{"id":"a","prompt":"x","max_tokens":0}', message: /max_tokens/ },
    { text: '\n', message: /no prompts/ },
  ])('rejects $text', ({ text, message }) => {
    expect(() => parsePromptSet(text)).toThrow(InvalidArgumentError);
    expect(() => parsePromptSet(text)).toThrow(message);
  });
});
