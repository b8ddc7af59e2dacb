import { expect, it } from 'vitest';
import { main } from '../examples/ai-sdk.js';

it('examples/ai-sdk.ts streams a story, decodes an object under the schema, and calls the tool', async () => {
  const pieces: string[] = [];
  await main(text => pieces.push(text));
  const output = pieces.join('');
  expect(pieces.length).toBeGreaterThan(10);
  const person = JSON.parse(/\nPerson: (.+)\n/.exec(output)![1]);
  expect(person.name.length).toBeLessThanOrEqual(12);
  expect(Number.isInteger(person.age) && person.age >= 1 && person.age <= 12).toBe(true);
  const args = JSON.parse(/Tool call: weather\((.+)\)\n$/.exec(output)![1]);
  expect(typeof args.city).toBe('string');
});
