/**
 * Eight generations in flight on one loaded model, each with another lossless strategy, give the same
 * tokens as the same eight run one after another (T = 0): sequences never share KV state or stats.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, type GenerateResult, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  losslessStrategies,
  type LosslessStrategyName,
} from './__fixtures__/lossless-strategies.js';

const prompts = readFileSync(resolve(__dirname, '../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => (JSON.parse(line) as { prompt: string }).prompt);

const IN_FLIGHT: LosslessStrategyName[] = [
  'ar',
  'prompt-lookup',
  'token-recycling',
  'copyspec',
  'lookahead',
  'aded',
  'draft-model',
  'swift',
];

describe('concurrent generations on one model', () => {
  let target: LoadedModel;
  let draft: LoadedModel;
  let strategies: ReturnType<typeof losslessStrategies>;

  beforeAll(async () => {
    target = await loadModel('karpathy/tinyllamas/stories260K');
    draft = await loadModel('llama2xs');
    const documents: number[][] = [];
    for (const prompt of prompts.slice(10, 16)) {
      const { tokens, promptTokens } = await createDecoder({ model: target }).generate(prompt, {
        maxTokens: 96,
      });
      documents.push([...promptTokens, ...tokens]);
    }
    strategies = losslessStrategies({ draft, adedDocuments: documents });
  });
  afterAll(async () => {
    await target?.dispose();
    await draft?.dispose();
  });

  it(`${IN_FLIGHT.length} strategies in flight give the outputs they give one by one (T = 0)`, async () => {
    const run = (name: LosslessStrategyName, index: number) =>
      createDecoder({ model: target })
        .use(strategies[name]())
        .generate(prompts[index], { maxTokens: 64 + 8 * index });
    const sequential: GenerateResult[] = [];
    for (const [index, name] of IN_FLIGHT.entries()) sequential.push(await run(name, index));
    const concurrent = await Promise.all(IN_FLIGHT.map((name, index) => run(name, index)));
    const ar: GenerateResult[] = [];
    for (const index of IN_FLIGHT.keys()) ar.push(await run('ar', index));
    for (const [index, name] of IN_FLIGHT.entries()) {
      expect(concurrent[index].tokens, name).toEqual(sequential[index].tokens);
      expect(concurrent[index].text, name).toBe(sequential[index].text);
      expect(sequential[index].tokens, `${name} vs AR`).toEqual(ar[index].tokens);
      expect(concurrent[index].tokens.length).toBeGreaterThan(0);
    }
  }, 120_000);

  it('one decoder (one strategy instance) serving 8 generations in flight gives the one-by-one outputs', async () => {
    const expected: number[][] = [];
    for (let index = 0; index < 8; index++)
      expected.push(
        (await createDecoder({ model: target }).generate(prompts[index], { maxTokens: 40 })).tokens,
      );
    for (const name of IN_FLIGHT) {
      const decoder = createDecoder({ model: target }).use(strategies[name]());
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          decoder.generate(prompts[index], { maxTokens: 40 }),
        ),
      );
      results.forEach((result, index) =>
        expect(result.tokens, `${name} #${index}`).toEqual(expected[index]),
      );
    }
  }, 120_000);
});
