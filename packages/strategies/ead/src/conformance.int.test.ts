import type { LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { loadReferenceModel, referencePrompts } from '@decodekit/conformance';
import { createDecoder } from '@decodekit/core';
import { entropyAdaptiveDecoding } from './index.js';

// The real pair: llama2xs (same tok512 vocabulary) is the small model, stories260K the large one.
let llama2xs: Promise<LoadedModel> | undefined;

// EAD is LOSSY by design: with a finite threshold its output is neither model's decoding.
runStrategyConformance({
  name: 'ead (threshold 2.5, lossy)',
  strategy: async ({ model, kind }) =>
    entropyAdaptiveDecoding({
      small:
        kind === 'real'
          ? await (llama2xs ??= loadModel('llama2xs'))
          : toyModel({ vocabSize: model.info.vocabSize, seed: 77 }),
      threshold: 2.5,
    }),
  skip: {
    'o-greedy-toy': 'lossy by design (EAD emits small-model tokens)',
    'o-dist': 'lossy by design (EAD emits small-model tokens)',
    'o-greedy-real': 'lossy by design (EAD emits small-model tokens)',
    'o-greedy-real-processors': 'lossy by design (EAD emits small-model tokens)',
  },
});

// Its exactness limit: threshold −∞ is the large model's decoding, so the full suite applies (greedy,
// processors, EOS/maxTokens cuts, and the sampled distribution).
runStrategyConformance({
  name: 'ead (threshold −∞ = large model)',
  strategy: async ({ model, kind }) =>
    entropyAdaptiveDecoding({
      small:
        kind === 'real'
          ? await (llama2xs ??= loadModel('llama2xs'))
          : toyModel({ vocabSize: model.info.vocabSize, seed: 77 }),
      threshold: -Infinity,
    }),
});

describe('ead on llama2xs → stories260K', () => {
  it('threshold +∞ equals llama2xs greedy on every bench prompt', async () => {
    const large = await loadReferenceModel();
    const small = await (llama2xs ??= loadModel('llama2xs'));
    for (const prompt of referencePrompts(large)) {
      const generate = { tokens: prompt.ids };
      const options = { maxTokens: prompt.maxTokens, temperature: 0 };
      const reference = await createDecoder({ model: small }).generate(generate, options);
      const strategy = entropyAdaptiveDecoding({ small, threshold: Infinity });
      const result = await createDecoder({ model: large })
        .use(strategy)
        .generate(generate, options);
      // llama2xs has a shorter context window than stories260K: where its own decoding stops at that
      // window, EAD hands the rest of the generation to the large model, so compare up to that point.
      const cut = prompt.ids.length + reference.tokens.length >= small.info.contextLength;
      if (cut)
        expect(result.tokens.slice(0, reference.tokens.length), prompt.id).toEqual(
          reference.tokens,
        );
      else {
        expect(result.tokens, prompt.id).toEqual(reference.tokens);
        expect(strategy.lastStats.largeForwards).toBe(0);
      }
    }
  }, 120_000);
});
