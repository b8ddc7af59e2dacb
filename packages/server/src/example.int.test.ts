import { expect, it } from 'vitest';
import { main } from '../examples/serve.js';

it('examples/serve.ts streams a story, answers JSON under the schema, and calls the tool', async () => {
  const pieces: string[] = [];
  await main(text => pieces.push(text));
  const output = pieces.join('');
  expect(pieces.length).toBeGreaterThan(10);
  const person = JSON.parse(/\nPerson: (.+)\n/.exec(output)![1]);
  expect(person.name.length).toBeLessThanOrEqual(12);
  expect(Number.isInteger(person.age) && person.age >= 1 && person.age <= 12).toBe(true);
  const args = JSON.parse(/Tool call: get_weather\((.+)\)\n$/.exec(output)![1]);
  expect(typeof args.city).toBe('string');
});
