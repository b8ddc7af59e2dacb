import { createDecoder, type CausalLM } from '@decodekit/core';
import { loadReferenceModel, readPromptFile, referencePrompts } from '@decodekit/conformance';
import { assert, describe, expect, it } from 'vitest';
import { contextAwareDecoding, contextSpan } from './index.js';

/** CAD greedy written out with two plain sequences of the model (full prompt; prompt without the span). */
async function referenceCad(
  model: CausalLM,
  prompt: number[],
  start: number,
  end: number,
  alpha: number,
  maxTokens: number,
): Promise<number[]> {
  const vocab = model.info.vocabSize;
  const streams = [prompt, prompt.filter((_, i) => i < start || i >= end)].map(ids => ({
    ids: [...ids],
    sequence: model.createSequence(),
  }));
  for (const stream of streams) {
    await stream.sequence.forward({ tokens: Int32Array.from(stream.ids.slice(0, -1)) });
    stream.sequence.commit(stream.ids.slice(0, -1).map((_, i) => i));
  }
  const out: number[] = [];
  while (out.length < maxTokens) {
    const [full, none] = await Promise.all(
      streams.map(stream =>
        stream.sequence.forward({ tokens: Int32Array.of(stream.ids[stream.ids.length - 1]) }),
      ),
    );
    let best = 0;
    let bestValue = -Infinity;
    for (let i = 0; i < vocab; i++) {
      const value = (1 + alpha) * full.logits[i] - alpha * none.logits[i];
      if (value > bestValue) [best, bestValue] = [i, value];
    }
    out.push(best);
    if (model.info.eosTokenIds.includes(best)) break;
    for (const stream of streams) {
      stream.sequence.commit([0]);
      stream.ids.push(best);
    }
  }
  for (const stream of streams) stream.sequence.dispose();
  return out;
}

describe('contextAwareDecoding on stories260K', () => {
  it('α = 0 is token-identical to greedy on every bench prompt (context = a middle slice of the prompt)', async () => {
    const model = await loadReferenceModel();
    for (const prompt of referencePrompts(model)) {
      if (prompt.ids.length < 3) continue; // BOS alone has no context to drop
      const context = prompt.ids.slice(1, Math.ceil(prompt.ids.length / 2));
      const maxTokens = Math.min(64, model.info.contextLength - prompt.ids.length);
      const greedy = await createDecoder({ model }).generate({ tokens: prompt.ids }, { maxTokens });
      const cad = await createDecoder({
        model: contextAwareDecoding({ model, context, alpha: 0 }),
      }).generate({ tokens: prompt.ids }, { maxTokens });
      expect(cad.tokens, prompt.id).toEqual(greedy.tokens);
    }
  }, 120_000);

  it('α = 0.5 with a text context equals the two-stream reference on bench/grounded and changes the output', async () => {
    const model = await loadReferenceModel();
    let changed = 0;
    for (const entry of readPromptFile('grounded')) {
      const document = entry.prompt.split('\n\n')[0];
      const ids = model.tokenizer.encode(entry.prompt);
      const span = contextSpan(ids, document, model.tokenizer);
      expect(span, entry.id).toEqual({ start: 1, end: expect.any(Number) });
      assert(span, `no context span in ${entry.id}`);
      expect(model.tokenizer.decode(ids.slice(span.start, span.end))).toBe(document);
      const maxTokens = 48;
      const cad = await createDecoder({
        model: contextAwareDecoding({ model, context: document, alpha: 0.5 }),
      }).generate(entry.prompt, { maxTokens });
      expect(cad.promptTokens).toEqual(ids);
      expect(cad.tokens, entry.id).toEqual(
        await referenceCad(model, ids, span.start, span.end, 0.5, maxTokens),
      );
      const greedy = await createDecoder({ model }).generate(entry.prompt, { maxTokens });
      if (greedy.tokens.join() !== cad.tokens.join()) changed++;
    }
    expect(changed).toBeGreaterThan(0);
  }, 120_000);
});
