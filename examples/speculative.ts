/**
 * Lossless speculative decoding: Token Recycling drafts a tree from the target's own earlier top-k
 * candidates, and one forward verifies it — the same ids as plain greedy decoding, in fewer forwards.
 * Run: `pnpm --filter @decodekit/examples exec tsx speculative.ts`.
 */
import { pathToFileURL } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, speculative } from '@decodekit/core';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const options = { maxTokens: 96, temperature: 0 };
  const plain = await createDecoder({ model }).generate('Once upon a time', options);
  const decoder = createDecoder({ model }).use(speculative({ drafter: tokenRecycling() }));
  for await (const event of decoder.stream('Once upon a time', options)) {
    if (event.type === 'token') write(event.text);
    if (event.type === 'done') {
      const { forwardPasses, meanAcceptedTokens } = event.stats;
      write(`\nSame ids as greedy: ${String(event.tokens.join() === plain.tokens.join())}\n`);
      write(`Forwards: ${forwardPasses} (greedy ${plain.stats.forwardPasses}), `);
      write(`tokens per forward: ${meanAcceptedTokens.toFixed(2)}\n`);
    }
  }
  await model.dispose();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
