import { assert, describe, expect, it } from 'vitest';
import { main as aiSdk } from './ai-sdk.js';
import { main as constrained } from './constrained.js';
import { main as langchain } from './langchain.js';
import { main as retrieval } from './retrieval.js';
import { main as search } from './search.js';
import { main as speculative } from './speculative.js';
import { main as trainedDrafter } from './trained-drafter.js';

/** What an example writes, joined. */
async function run(example: (write: (text: string) => void) => Promise<void>): Promise<string> {
  const pieces: string[] = [];
  await example(text => pieces.push(text));
  return pieces.join('');
}

// One runnable example per package family, on stories260K (from DECODEKIT_MODELS), as written.
describe('examples/', () => {
  it('speculative.ts: token recycling gives greedy’s ids in fewer forwards', async () => {
    const output = await run(speculative);
    expect(output).toContain('Same ids as greedy: true');
    const forwards = /Forwards: (\d+) \(greedy (\d+)\)/.exec(output);
    assert(forwards, 'the example prints its forward counts');
    expect(Number(forwards[1])).toBeLessThan(Number(forwards[2]));
  });

  it('trained-drafter.ts: EAGLE (committed) and Medusa (trained in the example) give greedy’s ids', async () => {
    const output = await run(trainedDrafter);
    const lines = [
      ...output.matchAll(/^(.+): same ids as greedy: (\w+), tokens per forward ([\d.]+)$/gm),
    ];
    expect(lines.map(line => [line[1], line[2]])).toEqual([
      ['eagle (committed)', 'true'],
      ['medusa (trained here)', 'true'],
    ]);
    // The committed EAGLE drafter guesses several tokens per forward; trained heads at least beat chance.
    expect(Number(lines[0][3])).toBeGreaterThan(2);
    const top1 = /^medusa heads held-out top-1: ([\d.]+) ([\d.]+)$/m.exec(output);
    assert(top1, 'the example prints the heads’ held-out accuracy');
    expect(Number(top1[1])).toBeGreaterThan(0.1);
  }, 240_000);

  it('search.ts: three ranked hypotheses; the streamed text is the best', async () => {
    const output = await run(search);
    const lines = [...output.matchAll(/^#(\d) score (-?[\d.]+) log p (-?[\d.]+):(.*)$/gm)];
    expect(lines.map(line => line[1])).toEqual(['1', '2', '3']);
    const scores = lines.map(line => Number(line[2]));
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(output).toContain(`Streamed (the best): ${lines[0][4]}\n`);
  });

  it('constrained.ts: the JSON validates under the schema and the date matches the regex', async () => {
    const output = await run(constrained);
    const json = /^JSON: (.+)$/m.exec(output);
    assert(json, 'the example prints a JSON line');
    const person = JSON.parse(json[1]);
    expect(Object.keys(person).sort()).toEqual(['age', 'name', 'pet']);
    expect(person.name.length).toBeLessThanOrEqual(12);
    expect(Number.isInteger(person.age) && person.age >= 1 && person.age <= 12).toBe(true);
    expect(['cat', 'dog', 'fish']).toContain(person.pet);
    expect(output).toMatch(/^Date: 20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d)$/m);
  });

  it('retrieval.ts: BM25 retrieves the dog note and context-aware decoding changes the answer', async () => {
    const output = await run(retrieval);
    expect(output).toMatch(/^Retrieved: dog \(BM25 \d+\.\d{3}\)$/m);
    const answers = /^Context-aware: (.*)\nPlain: {9}(.*)$/m.exec(output);
    assert(answers, 'the example prints both answers');
    expect(answers[1].trim().length).toBeGreaterThan(0);
    expect(answers[1]).not.toBe(answers[2]);
  });

  it('ai-sdk.ts: streams a story and names the catalogue strategy it decoded with', async () => {
    const output = await run(aiSdk);
    const [streamed, rest] = output.split('\ntoken-recycling:topK=4: ');
    assert(rest, 'the example names the strategy of its second call');
    // Token recycling is lossless: the same text as the plain streamed call.
    expect(rest.startsWith(`${streamed}\n`)).toBe(true);
    expect(streamed.trim().length).toBeGreaterThan(20);
    const perForward = /Tokens per forward: ([\d.]+)/.exec(output);
    assert(perForward, 'the example prints τ');
    expect(Number(perForward[1])).toBeGreaterThan(1);
  });

  it('langchain.ts: the retriever finds the cake note and the chain answers', async () => {
    const output = await run(langchain);
    expect(output).toContain('Retrieved: Lily bakes a big cake.\n');
    expect(output).toMatch(/^Answer: .{10,}$/m);
  });
});
