/**
 * Adapter overhead on stories260K: core's decoder.generate vs ChatDecodekit invoke / stream, and the cost
 * of withStructuredOutput. Medians of 15 warm runs; the prompt runs to maxTokens = 128 (no early EOS).
 * Run: `pnpm --filter @decodekit/langchain bench` (i.e. `npx tsx bench/overhead.ts`).
 */
import { createDecoder, invariant } from '@decodekit/core';
import type { AIMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { ChatDecodekit } from '../src/index.js';

const maxTokens = 128;
const chat = new ChatDecodekit({ maxTokens });
const model = await chat.loadModel();
const messages = [{ role: 'user', content: 'Tell me a story about a cat.' }];
const decoder = createDecoder({ model });

/** The output token count ChatDecodekit reports on a reply (or the last streamed chunk). */
function outputTokens(message: { usage_metadata?: { output_tokens: number } } | undefined): number {
  invariant(message?.usage_metadata !== undefined, 'ChatDecodekit reports usage_metadata');
  return message.usage_metadata.output_tokens;
}

async function median(
  run: () => Promise<number>,
  rounds = 15,
): Promise<{ ms: number; tokens: number }> {
  await run();
  const times: number[] = [];
  let tokens = 0;
  for (let round = 0; round < rounds; round += 1) {
    const start = performance.now();
    tokens = await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(rounds / 2)], tokens };
}

const rows: [string, { ms: number; tokens: number }][] = [
  [
    'core decoder.generate',
    await median(async () => (await decoder.generate({ messages }, { maxTokens })).tokens.length),
  ],
  [
    'ChatDecodekit.invoke',
    await median(async () => outputTokens(await chat.invoke('Tell me a story about a cat.'))),
  ],
  [
    'ChatDecodekit.stream',
    await median(async () => {
      let last;
      for await (const chunk of await chat.stream('Tell me a story about a cat.')) last = chunk;
      return outputTokens(last);
    }),
  ],
];
const character = z.object({ name: z.string().max(12), age: z.number().int().min(1).max(99) });
const structured = chat.withStructuredOutput(character, { includeRaw: true });
rows.push([
  'withStructuredOutput (T=0)',
  await median(async () =>
    outputTokens((await structured.invoke('Describe a character.')).raw as AIMessage),
  ),
]);
for (const [name, { ms, tokens }] of rows) {
  console.log(
    `| ${name} | ${tokens} | ${ms.toFixed(1)} ms | ${((tokens / ms) * 1000).toFixed(0)} tok/s |`,
  );
}
