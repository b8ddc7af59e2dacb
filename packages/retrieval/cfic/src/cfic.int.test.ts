import { loadModel } from '@decodekit/backend-onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cfic } from './index.js';

type Loaded = Awaited<ReturnType<typeof loadModel>>;

describe('cfic on stories260K', () => {
  let model: Loaded;
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
  });
  afterAll(() => model?.dispose());

  it('returns verbatim document sentences; skip decoding saves forward passes', async () => {
    const document =
      'Tom had a small dog named Spot. Spot liked to run and jump. One day, Spot ran into the woods. Tom was scared. Spot came back with a stick.';
    const reader = cfic({ model, tokenizer: model.tokenizer });
    const encoded = await reader.encode(document);
    const skipped = await reader.retrieve(encoded, 'What did Spot bring back?', { topK: 3 });
    const full = await reader.retrieve(encoded, 'What did Spot bring back?', {
      topK: 3,
      skip: false,
    });
    expect(skipped.spans.length).toBe(3);
    for (const span of skipped.spans) {
      expect(document.slice(span.start, span.end)).toBe(span.text);
      expect(encoded.sentences[span.sentence].text).toBe(span.text);
    }
    expect(full.spans).toEqual(skipped.spans);
    expect(skipped.forwardPasses).toBeLessThan(full.forwardPasses);
    encoded.dispose();
  });
});
