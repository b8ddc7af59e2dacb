import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@decodekit/core';
import { buildKickQuestions, normalizeAnswer } from './index.js';

const STORIES = [
  { id: 's0', text: 'Once upon a time, there was a little dog named Max. Max liked to run.' },
  { id: 's1', text: 'Tom had a red ball. He liked to play with it.\n\nTom had a red ball. He' },
  { id: 's2', text: 'Kate had a friend named Joe. They saw the big blue sea.' },
];

describe('buildKickQuestions', () => {
  it('finds names, objects and colors with clozes, and puts the answer among distinct choices', () => {
    const questions = buildKickQuestions(STORIES);
    // Objects are skipped: two stories give only two "had a" answers, too few distractors for 4 choices.
    expect(questions.map(({ id, prompt, answer }) => ({ id, prompt, answer }))).toEqual([
      {
        id: 's0/name-1',
        prompt:
          "Once upon a time, there was a little dog named Max. Max liked to run. The dog's name was",
        answer: 'Max',
      },
      {
        id: 's1/color-1',
        prompt: 'Tom had a red ball. He liked to play with it. The ball was',
        answer: 'red',
      },
      {
        id: 's2/name-1',
        prompt: "Kate had a friend named Joe. They saw the big blue sea. The friend's name was",
        answer: 'Joe',
      },
      {
        id: 's2/color-1',
        prompt: 'Kate had a friend named Joe. They saw the big blue sea. The sea was',
        answer: 'blue',
      },
    ]);
    expect(buildKickQuestions(STORIES, { choices: 2 }).map(question => question.id)).toEqual([
      's0/name-1',
      's1/object-1',
      's1/color-1',
      's2/name-1',
      's2/object-1',
      's2/color-1',
    ]);
    for (const question of questions) {
      expect(question.choices).toHaveLength(4);
      expect(new Set(question.choices).size).toBe(4);
      expect(question.choices).toContain(question.answer);
      // Only the first paragraph is the context; no distractor is a word of the story.
      expect(question.prompt).not.toContain('\n');
      const words = new Set(question.prompt.toLowerCase().match(/[a-z]+/g));
      for (const choice of question.choices)
        if (choice !== question.answer) expect(words.has(choice.toLowerCase())).toBe(false);
    }
  });

  it('is deterministic in the seed', () => {
    expect(buildKickQuestions(STORIES, { seed: 3 })).toEqual(
      buildKickQuestions(STORIES, { seed: 3 }),
    );
    const orders = new Set(
      [0, 1, 2, 3, 4, 5].map(seed => buildKickQuestions(STORIES, { seed })[0].choices.join()),
    );
    expect(orders.size).toBeGreaterThan(1);
  });

  it('rejects fewer than two choices', () => {
    expect(() => buildKickQuestions(STORIES, { choices: 1 })).toThrow(InvalidArgumentError);
  });
});

describe('normalizeAnswer', () => {
  it.each([
    [' Max. He was happy', 'max'],
    ['a Red Ball, and a bat', 'red ball and bat'],
    ['The  blue\nkite', 'blue'],
    ['', ''],
  ])('%j → %j', (text, expected) => {
    expect(normalizeAnswer(text)).toBe(expected);
  });
});
