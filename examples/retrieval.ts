/**
 * Retrieval-augmented decoding: BM25 (SPLADE's index, core's BM25 and analyzer) finds the note that
 * answers a question, and context-aware decoding — model middleware — sharpens the next-token logits
 * toward what that note says: (1 + α) · z(y | note, question) − α · z(y | question).
 * Run: `pnpm --filter @decodekit/examples exec tsx retrieval.ts`.
 */
import { pathToFileURL } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder } from '@decodekit/core';
import { memorySparseStore, sparseIndex } from '@decodekit/retrieval-splade';
import { contextAwareDecoding } from '@decodekit/strategy-context-aware-decoding';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const notes = sparseIndex({ store: memorySparseStore() }); // no encoder: a BM25 index
  await notes.add([
    { id: 'kite', text: 'Tom had a big red kite.' },
    { id: 'cake', text: "Lily's mom baked a big cake." },
    { id: 'dog', text: 'Ben had a small brown dog named Max.' },
  ]);
  const question = 'What did the dog do?';
  const [best] = await notes.search(question, 1);
  write(`Retrieved: ${best.id} (BM25 ${best.score.toFixed(3)})\n`);

  const prompt = `${best.text}\n${question} One day, the dog`;
  const grounded = contextAwareDecoding({ model, context: best.text, alpha: 1 });
  const answer = await createDecoder({ model: grounded }).generate(prompt, { maxTokens: 32 });
  const plain = await createDecoder({ model }).generate(prompt, { maxTokens: 32 });
  write(`Context-aware: ${answer.text}\nPlain:         ${plain.text}\n`);
  await model.dispose();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
