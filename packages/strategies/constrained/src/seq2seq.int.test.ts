import { delimiter, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder, speculative, type LoadedModel } from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { fixtureFolders } from '@decodekit/models/testing';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { jsonSchema, regex } from './index.js';

// Constraints on an encoder-decoder model: the builder-made tiny seq2seq with stories260K's tokenizer
// (byte fallback, so every character a constraint needs is reachable).
const fixtures = fixtureFolders({
  // eslint-disable-next-line no-process-env -- test fixture: the offline mirror
  modelsRoot: resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models'),
  prefix: 'decodekit-constrained-seq2seq-',
});
let model: LoadedModel;
beforeAll(async () => {
  model = await createCpuBackend().load(fixtures.seq2seq({ seed: 21, tok512: true }).folder);
});
afterAll(async () => {
  await model?.dispose();
});
const prompts = ['translate: the cat sat', 'summarize: Lily went to the park', 'q: age?'];

describe('constraints on an encoder-decoder model', () => {
  it('regex: every output matches, and token-recycling speculation gives the same ids at T = 0', async () => {
    const pattern = '[0-9]{4}-[0-9]{2}-[0-9]{2}';
    for (const prompt of prompts) {
      const constraint = () => regex(pattern, { tokenizer: model.tokenizer, maxTokens: 16 });
      const ar = await createDecoder({ model })
        .use(constraint())
        .generate(prompt, { maxTokens: 16, temperature: 0 });
      const spec = await createDecoder({ model })
        .use(constraint())
        .use(speculative({ drafter: tokenRecycling(), budget: 8 }))
        .generate(prompt, { maxTokens: 16, temperature: 0 });
      expect(ar.text).toMatch(new RegExp(`^${pattern}$`));
      expect(spec.tokens).toEqual(ar.tokens);
      expect(ar.stats.encoderCalls).toBe(1);
    }
  });

  it('JSON schema: sampled outputs parse and follow the schema', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 8 }, happy: { type: 'boolean' } },
      required: ['name', 'happy'],
    };
    for (const [seed, prompt] of prompts.entries()) {
      const result = await createDecoder({ model })
        .use(jsonSchema(schema, { tokenizer: model.tokenizer, maxTokens: 40 }))
        .generate(prompt, { maxTokens: 40, temperature: 0.8, seed });
      const value = JSON.parse(result.text) as { name: unknown; happy: unknown };
      expect(typeof value.name).toBe('string');
      expect((value.name as string).length).toBeLessThanOrEqual(8);
      expect(typeof value.happy).toBe('boolean');
    }
  });
});
