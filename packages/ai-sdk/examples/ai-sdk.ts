/**
 * decodekit in the Vercel AI SDK: streamText with a decoding strategy, generateText with an object output
 * (JSON decoded under the schema) and a tool call. Run: `pnpm --filter @decodekit/ai-sdk example`.
 */
import { pathToFileURL } from 'node:url';
import { createDecodekit } from '@decodekit/ai-sdk';
import { speculative } from '@decodekit/core';
import { promptLookup } from '@decodekit/strategy-prompt-lookup';
import { generateText, Output, streamText, tool } from 'ai';
import { z } from 'zod';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const decodekit = createDecodekit({
    strategies: { 'prompt-lookup': () => speculative({ drafter: promptLookup() }) },
  });
  const model = decodekit('karpathy/tinyllamas/stories260K');
  try {
    write('Story: ');
    const story = streamText({
      model,
      prompt: 'Tell me a story about a cat.',
      maxOutputTokens: 60,
      providerOptions: { decodekit: { strategy: 'prompt-lookup' } },
    });
    for await (const delta of story.textStream) write(delta);

    const person = z.object({ name: z.string().max(12), age: z.number().int().min(1).max(12) });
    const { output } = await generateText({
      model,
      output: Output.object({ schema: person }),
      prompt: 'Describe a child.',
      maxOutputTokens: 60,
    });
    write(`\nPerson: ${JSON.stringify(output)}\n`);

    const { toolCalls } = await generateText({
      model,
      tools: {
        weather: tool({
          description: 'Weather of a city.',
          inputSchema: z.object({ city: z.string().max(10) }),
        }),
      },
      toolChoice: 'required',
      prompt: 'What is the weather in Paris?',
      maxOutputTokens: 60,
    });
    write(`Tool call: ${toolCalls[0].toolName}(${JSON.stringify(toolCalls[0].input)})\n`);
  } finally {
    await decodekit.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
