import { expect, it } from 'vitest';
import { main } from '../examples/langchain.js';

it('examples/langchain.ts prints a streamed story, a structured object, a tool call and a retrieval answer', async () => {
  const pieces: string[] = [];
  await main(text => pieces.push(text));
  const output = pieces.join('');
  const story = /^Story: (.+)\nCharacter: /s.exec(output)?.[1] ?? '';
  expect(story.length).toBeGreaterThan(50);
  // The story arrived as many stream chunks, not one string.
  expect(pieces.length).toBeGreaterThan(20);
  const character = JSON.parse(/Character: (.+)\n/.exec(output)![1]);
  expect(typeof character.name).toBe('string');
  expect(character.name.length).toBeLessThanOrEqual(12);
  expect(Number.isInteger(character.age) && character.age >= 1 && character.age <= 12).toBe(true);
  expect(['cat', 'dog', 'fish']).toContain(character.pet);
  const [, name, args, result] = /\nTool call: (\w+)\((.+)\) = (\d+)\n/.exec(output)!;
  const { a, b } = JSON.parse(args);
  expect(name).toBe('add');
  expect(Number(result)).toBe(a + b);
  expect(output).toMatch(/\nAnswer: .+\n$/s);
});
