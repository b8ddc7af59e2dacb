import { createDecoder, speculative } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSchema, regex, grammar } from './index.js';

type Loaded = Awaited<ReturnType<typeof loadModel>>;
let model: Loaded;
beforeAll(async () => {
  model = await loadModel('karpathy/tinyllamas/stories260K');
});
afterAll(async () => {
  await model?.dispose();
});

const schemas = [
  {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      age: { type: 'integer', minimum: 0, maximum: 120 },
    },
    required: ['name', 'age'],
  },
  { type: 'array', items: { enum: ['cat', 'dog', 'bird'] }, minItems: 1, maxItems: 4 },
  {
    type: 'object',
    properties: {
      story: { type: 'string' },
      happy: { type: 'boolean' },
      score: { type: 'number', minimum: -5, maximum: 5 },
    },
    required: ['story'],
  },
];
const prompts = ['Once upon a time', 'Lily wanted a', 'The dog said'];

describe('constraints on stories260K', () => {
  it('token-recycling + jsonSchema gives the same ids as autoregressive + jsonSchema at T = 0', async () => {
    const ajv = new (
      Ajv2020 as unknown as new (options: object) => {
        validate(schema: unknown, data: unknown): boolean;
      }
    )({ strict: false });
    const drafter = tokenRecycling();
    for (const schema of schemas) {
      for (const prompt of prompts) {
        const constraint = jsonSchema(schema, { tokenizer: model.tokenizer, maxTokens: 48 });
        const ar = await createDecoder({ model })
          .use(constraint)
          .generate(prompt, { maxTokens: 48, temperature: 0 });
        const spec = await createDecoder({ model })
          .use(constraint)
          .use(speculative({ drafter, budget: 16 }))
          .generate(prompt, { maxTokens: 48, temperature: 0 });
        expect(spec.tokens).toEqual(ar.tokens);
        expect(ajv.validate(schema, JSON.parse(ar.text))).toBe(true);
        console.log(
          JSON.stringify(prompt),
          ar.text,
          ar.reason,
          spec.stats.meanAcceptedTokens.toFixed(2),
        );
      }
    }
  });

  it('budget mode closes the structure whatever maxTokens ≥ minimalTokens (T = 0 and T = 1)', async () => {
    const ajv = new (
      Ajv2020 as unknown as new (options: object) => {
        validate(schema: unknown, data: unknown): boolean;
      }
    )({ strict: false });
    const schema = {
      type: 'object',
      properties: { story: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['story', 'tags'],
    };
    const minimal = jsonSchema(schema, { tokenizer: model.tokenizer }).minimalTokens;
    for (const maxTokens of [minimal, minimal + 1, minimal + 3, minimal + 10]) {
      for (const temperature of [0, 1]) {
        const constraint = jsonSchema(schema, { tokenizer: model.tokenizer, maxTokens });
        const result = await createDecoder({ model })
          .use(constraint)
          .generate('Once upon a time', { maxTokens, temperature, seed: 3 });
        expect(result.tokens.length).toBeLessThanOrEqual(maxTokens);
        expect(ajv.validate(schema, JSON.parse(result.text))).toBe(true);
      }
    }
  });

  it('regex and grammar constraints hold on real tokens', async () => {
    const date = await createDecoder({ model })
      .use(regex('[0-9]{4}-[0-9]{2}-[0-9]{2}', { tokenizer: model.tokenizer, maxTokens: 16 }))
      .generate('Once', { maxTokens: 16, temperature: 1, seed: 1 });
    expect(date.text).toMatch(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
    const nested = await createDecoder({ model })
      .use(grammar('root ::= "(" root ")" | [a-z]+', { tokenizer: model.tokenizer, maxTokens: 24 }))
      .generate('Once', { maxTokens: 24, temperature: 1, seed: 2 });
    const depth = /^\(*/.exec(nested.text)?.[0].length ?? 0;
    expect(nested.text).toMatch(new RegExp(`^\\({${depth}}[a-z]+\\){${depth}}$`));
  });
});
