// Forward passes and time of CFIC with and without skip decoding, on the first paragraph of each grounded story.
// `npx vitest run --config packages/retrieval/cfic/measure.config.ts packages/retrieval/cfic/scripts/cfic.measure.ts`
import { readFileSync } from 'node:fs';
import { loadModel } from '@decodekit/backend-onnx';
import { it } from 'vitest';
import { cfic } from '../src/index.js';

it('CFIC: skip decoding vs token-by-token', async () => {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const documents = readFileSync(
    new URL('../../../../bench/grounded.jsonl', import.meta.url),
    'utf8',
  )
    .split('\n')
    .filter(Boolean)
    .map(line => (JSON.parse(line) as { prompt: string }).prompt.split('\n\n')[0]);
  const reader = cfic({ model, tokenizer: model.tokenizer });
  // Questions: the first half (in words) of each sentence but the first; "hit" = the top span is that sentence.
  const rows: string[] = [];
  for (const skip of [true, false]) {
    let random1 = 0,
      random3 = 0,
      questions = 0,
      hits = 0,
      inTop3 = 0,
      passes = 0,
      prefix = 0,
      spans = 0,
      ms = 0,
      encodeMs = 0;
    for (const text of documents) {
      let started = performance.now();
      const encoded = await reader.encode(text);
      encodeMs += performance.now() - started;
      for (const [index, sentence] of encoded.sentences.entries()) {
        if (index === 0) continue;
        const words = sentence.text.split(' ');
        if (words.length < 4) continue;
        const question = words.slice(0, Math.ceil(words.length / 2)).join(' ');
        started = performance.now();
        const result = await reader.retrieve(encoded, question, { topK: 3, skip });
        ms += performance.now() - started;
        questions++;
        random1 += 1 / encoded.sentences.length;
        random3 += Math.min(3, encoded.sentences.length) / encoded.sentences.length;
        passes += result.forwardPasses;
        if (result.spans[0]?.sentence === index) hits++;
        if (result.spans.some(span => span.sentence === index)) inTop3++;
        for (const span of result.spans) {
          if (text.slice(span.start, span.end) !== span.text)
            throw new Error('span is not verbatim');
          prefix += span.prefixTokens;
          spans++;
        }
      }
      encoded.dispose();
    }
    rows.push(
      `| ${skip ? 'skip decoding' : 'token by token'} | ${questions} | ${(passes / questions).toFixed(1)} | ${(prefix / spans).toFixed(2)} | ${(ms / questions).toFixed(1)} | ${(encodeMs / documents.length).toFixed(1)} | ${(hits / questions).toFixed(3)} | ${(inTop3 / questions).toFixed(3)} | ${(random1 / questions).toFixed(3)} / ${(random3 / questions).toFixed(3)} |`,
    );
  }
  await model.dispose();
  console.log(
    [
      '| decoding | questions | forward passes / question | prefix tokens / span | ms / question | encode ms / document | top-1 = source sentence | source in top-3 | random top-1 / top-3 |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
  );
});
