import { assert, expect, it } from 'vitest';
import { main } from '../examples/serve.js';

it('examples/serve.ts streams a story, answers JSON under the schema, and calls the tool', async () => {
  const pieces: string[] = [];
  await main(text => pieces.push(text));
  const output = pieces.join('');
  expect(pieces.length).toBeGreaterThan(10);
  const personLine = /\nPerson: (.+)\n/.exec(output);
  assert(personLine, 'the example prints a Person line');
  const person = JSON.parse(personLine[1]);
  expect(person.name.length).toBeLessThanOrEqual(12);
  expect(Number.isInteger(person.age) && person.age >= 1 && person.age <= 12).toBe(true);
  const toolCall = /Tool call: get_weather\((.+)\)\n$/.exec(output);
  assert(toolCall, 'the example ends with a Tool call line');
  const args = JSON.parse(toolCall[1]);
  expect(typeof args.city).toBe('string');
});
