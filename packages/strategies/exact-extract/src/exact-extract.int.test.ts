import { createDecoder, type CausalLM } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { exactExtract, scoreSpans } from './index.js';

type Loaded = Awaited<ReturnType<typeof loadModel>>;
let model: Loaded;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});
afterAll(async () => {
  await model?.dispose();
});

/** Brute force: every span scored with its own full forward from an empty sequence. */
async function bruteForce(
  target: CausalLM,
  prompt: number[],
  passage: number[],
  maxLength: number,
  terminator: number,
) {
  const vocab = target.info.vocabSize;
  const logProb = (logits: Float32Array, row: number, id: number): number => {
    const slice = logits.subarray(row * vocab, (row + 1) * vocab);
    const max = Math.max(...slice);
    const sum = slice.reduce((acc, value) => acc + Math.exp(value - max), 0);
    return slice[id] - max - Math.log(sum);
  };
  const results: { start: number; end: number; logProbability: number }[] = [];
  for (let start = 0; start < passage.length; start++) {
    for (let end = start + 1; end <= Math.min(passage.length, start + maxLength); end++) {
      const tokens = [...prompt, ...passage.slice(start, end)];
      const sequence = target.createSequence();
      const { logits } = await sequence.forward({ tokens: Int32Array.from(tokens) });
      sequence.dispose();
      let total = logProb(logits, tokens.length - 1, terminator);
      for (let k = prompt.length; k < tokens.length; k++)
        total += logProb(logits, k - 1, tokens[k]);
      results.push({ start, end, logProbability: total });
    }
  }
  return results.sort((a, b) => b.logProbability - a.logProbability);
}

describe('exact-extract on stories260K', () => {
  it.each([
    {
      question: 'Lily had a red ball. What did Lily have? She had',
      passage: ' a red ball and a big dog.',
    },
    {
      question: 'Tom went to the park. Where did Tom go? He went to',
      passage: ' the park with his mom.',
    },
    { question: 'Once upon a time there was a cat named', passage: ' Tim. Tim liked fish.' },
  ])('returns the brute-force argmax span: $passage', async ({ question, passage }) => {
    const prompt = model.tokenizer.encode(question);
    const passageTokens = model.tokenizer.encode(passage, { addSpecialTokens: false });
    const terminator = model.tokenizer.encode('.', { addSpecialTokens: false }).at(-1);
    assert(terminator !== undefined, '"." encodes to at least one token');
    const maxSpanLength = 6;
    const spans = await scoreSpans(model, {
      prompt,
      passage: passageTokens,
      maxSpanLength,
      terminatorTokenIds: [terminator],
    });
    const brute = await bruteForce(model, prompt, passageTokens, maxSpanLength, terminator);
    // Brute force keeps repeated spans; the answer is the token sequence.
    expect(
      new Set(brute.map(span => passageTokens.slice(span.start, span.end).join(','))).size,
    ).toBe(spans.length);
    expect(spans[0].tokens).toEqual(passageTokens.slice(brute[0].start, brute[0].end));
    expect(spans[0].logProbability).toBeCloseTo(brute[0].logProbability, 3);
    // Every span's score agrees, not only the best.
    const byKey = new Map(brute.map(span => [`${span.start}:${span.end}`, span.logProbability]));
    for (const span of spans)
      expect(span.logProbability).toBeCloseTo(
        byKey.get(`${span.start}:${span.end}`) ?? Number.NaN,
        3,
      );
  });

  it('as a strategy, emits the best span (a passage substring) and the EOS terminator', async () => {
    const passage = 'Tim. Tim liked fish.';
    let best: number[] = [];
    const decoder = createDecoder({ model }).use(
      exactExtract({
        passage,
        tokenizer: model.tokenizer,
        maxSpanLength: 4,
        onSpans: spans => (best = spans[0].tokens),
      }),
    );
    const result = await decoder.generate('Once upon a time there was a cat named', {
      maxTokens: 16,
    });
    expect(result.tokens.slice(0, -1)).toEqual(best);
    expect(result.reason).toBe('eos');
    // The completion keeps the span's separating space after the prompt (' Tim.'); the span itself is in the passage.
    expect(passage).toContain(result.text.trim());
    expect(result.text.startsWith(' ')).toBe(true);
  });
});
