import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, speculative } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance } from '@decodekit/conformance';
import { readLlama2cCheckpoint } from '@decodekit/models';
import { describe, expect, it } from 'vitest';
import { draftModel } from '@decodekit/strategy-draft-model';
import { easySpec, layerParallelLlama } from './index.js';
import { randomLlama } from './random-llama.test-util.js';

// The real draft: llama2xs's llama2.c checkpoint (same tok512 vocabulary as stories260K).
const llama2xs = readLlama2cCheckpoint(
  new Uint8Array(
    readFileSync(resolve(process.env.DECODEKIT_MODELS ?? '../shared/models', 'llama2xs/model.bin')),
  ),
);
const draftFor = (vocabSize: number, kind: 'toy' | 'real') =>
  kind === 'real' ? llama2xs : randomLlama(1234, vocabSize);

for (const groupSize of [1, 2, 5]) {
  runStrategyConformance({
    name: `easyspec (group size ${groupSize})`,
    strategy: ({ model, kind }) =>
      speculative({
        drafter: easySpec({ ...draftFor(model.info.vocabSize, kind), groupSize }),
        adaptive: false,
      }),
    // The real model is checked with group size 2 (every other bench prompt) to keep CI time small; group
    // size 1 is checked against the ONNX logits below, group size 5 (all layers in one group) on the toys.
    skip:
      groupSize === 2
        ? {
            'o-dist':
              'greedy drafts carry no q; the sampled-draft suite below checks O-dist for this drafter',
          }
        : {
            'o-dist': 'the sampled-draft suite below checks O-dist for this drafter',
            'o-greedy-real': 'the real model is covered by the group size 2 suite (CI time)',
            'o-greedy-real-processors':
              'the real model is covered by the group size 2 suite (CI time)',
          },
    promptStride: 2,
  });
}

runStrategyConformance({
  name: 'easyspec (group size 3, sampled drafts, speculative sampling)',
  strategy: ({ model, kind }) =>
    speculative({
      drafter: easySpec({
        ...draftFor(model.info.vocabSize, kind),
        groupSize: 3,
        temperature: 0.9,
      }),
    }),
  skip: {
    'o-greedy-real': 'sampled drafts only matter at T > 0; the greedy suites cover the real model',
    'o-greedy-real-processors': 'as above',
  },
});

describe('layerParallelLlama on llama2xs', () => {
  it('group size 1 matches the ONNX llama2xs logits', async () => {
    const onnx = await loadModel('llama2xs');
    const ids = onnx.tokenizer.encode('Once upon a time, there was a little girl named Lily.');
    const { logits } = await onnx.createSequence().forward({ tokens: Int32Array.from(ids) });
    const ours = layerParallelLlama(llama2xs.config, llama2xs.weights).forward(ids);
    let max = 0;
    for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i] - logits[i]));
    expect(max).toBeLessThan(1e-3);
    const fuzzy = layerParallelLlama(llama2xs.config, llama2xs.weights).forward(ids, 2);
    let fuzzyMax = 0;
    for (let i = 0; i < ours.length; i++)
      fuzzyMax = Math.max(fuzzyMax, Math.abs(ours[i] - fuzzy[i]));
    expect(fuzzyMax).toBeGreaterThan(1e-2);
  });

  it("group size 1 drafts are accepted exactly as the ONNX llama2xs draft model's", async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const onnx = await loadModel('llama2xs');
    const prompt = { tokens: target.tokenizer.encode('Once upon a time') };
    const options = { maxTokens: 64, temperature: 0 };
    const ours = await createDecoder({ model: target })
      .use(
        speculative({
          drafter: easySpec({ ...llama2xs, groupSize: 1, draftLength: 4 }),
          adaptive: false,
        }),
      )
      .generate(prompt, options);
    const reference = await createDecoder({ model: target })
      .use(
        speculative({
          drafter: draftModel({ model: onnx, schedule: 'constant', numAssistantTokens: 4 }),
          adaptive: false,
        }),
      )
      .generate(prompt, options);
    expect(ours.tokens).toEqual(reference.tokens);
    expect(ours.stats.acceptedDraftTokens).toBe(reference.stats.acceptedDraftTokens);
    expect(ours.stats.draftTokens).toBe(reference.stats.draftTokens);
  });
});
