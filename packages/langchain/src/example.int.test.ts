import { assert, expect, it } from 'vitest';
import { main } from '../examples/langchain.js';

it('examples/langchain.ts prints a streamed story, a structured object, a tool call and a retrieval answer', async () => {
  const pieces: string[] = [];
  await main(text => pieces.push(text));
  const output = pieces.join('');
  const story = /^Story: (.+)\nCharacter: /s.exec(output)?.[1] ?? '';
  expect(story.length).toBeGreaterThan(50);
  // The story arrived as many stream chunks, not one string.
  expect(pieces.length).toBeGreaterThan(20);
  const characterLine = /Character: (.+)\n/.exec(output);
  assert(characterLine, 'the example prints a Character line');
  const character = JSON.parse(characterLine[1]);
  expect(typeof character.name).toBe('string');
  expect(character.name.length).toBeLessThanOrEqual(12);
  expect(Number.isInteger(character.age) && character.age >= 1 && character.age <= 12).toBe(true);
  expect(['cat', 'dog', 'fish']).toContain(character.pet);
  const toolCall = /\nTool call: (\w+)\((.+)\) = (\d+)\n/.exec(output);
  assert(toolCall, 'the example prints a Tool call line');
  const [, name, args, result] = toolCall;
  const { a, b } = JSON.parse(args);
  expect(name).toBe('add');
  expect(Number(result)).toBe(a + b);
  expect(output).toMatch(/\nAnswer: .+\n$/s);
});
