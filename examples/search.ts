/**
 * Search strategies return ranked hypotheses: `decoder.search()` runs beam search and returns the best
 * `numReturnSequences` with their length-normalized scores and per-token log-probabilities.
 * Run: `pnpm --filter @decodekit/examples exec tsx search.ts`.
 */
import { pathToFileURL } from 'node:url';
import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, noRepeatNgram } from '@decodekit/core';
import { beamSearch } from '@decodekit/strategy-beam-search';

export async function main(
  write: (text: string) => void = text => process.stdout.write(text),
): Promise<void> {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const decoder = createDecoder({ model })
    .use(noRepeatNgram(3))
    .use(beamSearch({ numBeams: 4, numReturnSequences: 3 }));
  const { hypotheses, text } = await decoder.search('Once upon a time', { maxTokens: 32 });
  for (const [rank, hypothesis] of hypotheses.entries()) {
    const logProbability = hypothesis.logProbability ?? Number.NaN;
    write(`#${rank + 1} score ${hypothesis.score.toFixed(3)} log p ${logProbability.toFixed(2)}:`);
    write(`${hypothesis.text}\n`);
  }
  write(`Streamed (the best): ${text}\n`);
  await model.dispose();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
