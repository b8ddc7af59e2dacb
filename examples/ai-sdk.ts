/**
 * Serving through the Vercel AI SDK: `createDecodekit()` is a provider whose calls can name any catalogue
 * strategy; `providerMetadata.decodekit` reports what the decoder did.
 * Run: `pnpm --filter @decodekit/examples exec tsx ai-sdk.ts`.
 */
import { pathToFileURL } from 'node:url';
import { createDecodekit } from '@decodekit/ai-sdk';
import { generateText, streamText } from 'ai';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = createDecodekit()('karpathy/tinyllamas/stories260K');
  const story = streamText({ model, prompt: 'Tell me a story about a dog.', maxOutputTokens: 48 });
  for await (const delta of story.textStream) write(delta);
  const { text, providerMetadata } = await generateText({
    model,
    prompt: 'Tell me a story about a dog.',
    maxOutputTokens: 48,
    providerOptions: { decodekit: { strategy: 'token-recycling:topK=4' } },
  });
  const { strategy, stats } = (providerMetadata?.decodekit ?? {}) as {
    strategy?: string;
    stats?: { meanAcceptedTokens?: number };
  };
  write(`\n${strategy}: ${text}\n`);
  write(`Tokens per forward: ${(stats?.meanAcceptedTokens ?? 0).toFixed(2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
