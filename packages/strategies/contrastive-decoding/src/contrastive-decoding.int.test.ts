import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, referencePrompts } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { contrastiveDecoding } from './index.js';

describe('contrastiveDecoding: stories260K (expert) − llama2xs (amateur)', () => {
  it('β = 0 is token-identical to greedy stories260K on every bench prompt; β = 0.5 changes the output', async () => {
    const expert = await loadReferenceModel();
    const { loadModel } = await import('@decodekit/backend-onnx');
    const amateur = await loadModel('llama2xs');
    const plain = contrastiveDecoding({ expert, amateur, beta: 0 });
    const contrast = contrastiveDecoding({ expert, amateur, beta: 0.5 });
    let changed = 0;
    for (const prompt of referencePrompts(expert)) {
      const maxTokens = Math.min(64, plain.info.contextLength - prompt.ids.length);
      const greedy = await createDecoder({ model: expert }).generate(
        { tokens: prompt.ids },
        { maxTokens },
      );
      const result = await createDecoder({ model: plain }).generate(
        { tokens: prompt.ids },
        { maxTokens },
      );
      expect(result.tokens, prompt.id).toEqual(greedy.tokens);
      const contrasted = await createDecoder({ model: contrast }).generate(
        { tokens: prompt.ids },
        { maxTokens },
      );
      if (contrasted.tokens.join() !== greedy.tokens.join()) changed++;
    }
    expect(changed).toBeGreaterThan(0);
  }, 120_000);
});
