import { delimiter, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDecoder, speculative, InvalidArgumentError, type CausalLM } from '@decodekit/core';
import { createCpuBackend } from '@decodekit/backend-onnx';
import { runSeq2SeqConformance, toyModel } from '@decodekit/conformance';
import { buildSeq2SeqModel, seededRandom, type Seq2SeqWeights } from '@decodekit/models';
import { fixtureFolders } from '@decodekit/models/testing';
import { draftModel } from './index.js';

// A second tiny encoder-decoder drafts for the first: the draft encodes the source with its own encoder once
// per generation and follows the target's decoder tokens.
const fixtures = fixtureFolders({
  // eslint-disable-next-line no-process-env -- test fixture: the offline mirror
  modelsRoot: resolve(process.env.DECODEKIT_MODELS?.split(delimiter)[0] ?? '../shared/models'),
  prefix: 'decodekit-draft-model-seq2seq-',
});
const backend = createCpuBackend();
const target = fixtures.seq2seq({ seed: 21 });

/** `weights` with seeded normal noise of `scale` on every tensor: a related but different model. */
function perturbed(weights: Seq2SeqWeights, scale: number, seed: number): Seq2SeqWeights {
  const random = seededRandom(seed);
  const copy = (value: unknown): unknown => {
    if (value instanceof Float32Array) return value.map(x => x + scale * random.normal());
    if (Array.isArray(value)) return value.map(copy);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, copy(inner)]));
    return value;
  };
  return copy(weights) as Seq2SeqWeights;
}

// The draft: the target's weights with noise (agrees often, not always), as its own ONNX folder.
const draftFolder = fixtures.write(
  'seq2seq-draft',
  buildSeq2SeqModel({
    seed: 21,
    weights: perturbed(target.weights, 0.15, 7),
    name: 'tiny-seq2seq-draft',
  }).files,
);
let draft: Promise<CausalLM> | undefined;

runSeq2SeqConformance({
  name: 'draft-model (encoder-decoder draft)',
  strategy: async () =>
    speculative({ drafter: draftModel({ model: await (draft ??= backend.load(draftFolder)) }) }),
  model: () => backend.load(target.folder),
  sources: [
    [1, 5, 9, 14, 3],
    [1, 20, 21, 22, 23, 24, 25, 26],
    [1, 30, 4, 30, 4, 30, 4],
  ],
  skip: {
    'o-dist':
      'the decoder-only draft-model suite runs O-dist through the same verifiers; prompt-lookup runs the seq2seq O-dist, and O-greedy and encoder-once here cover the encoder-decoder draft path',
  },
});

describe('draft-model with encoder-decoder models', () => {
  // Acceptance counts are asserted: `adaptive: false`, since wall-clock draft sizing may cut every draft on a
  // loaded machine (the outputs are exact either way).
  it('accepts drafts of the related seq2seq model: fewer target forwards, same tokens as greedy', async () => {
    const model = await backend.load(target.folder);
    const drafter = draftModel({ model: await (draft ??= backend.load(draftFolder)) });
    const source = [1, 20, 21, 22, 23, 24, 25, 26];
    const greedy = await createDecoder({ model }).generate(
      { tokens: source },
      { maxTokens: 32, temperature: 0 },
    );
    const spec = await createDecoder({ model })
      .use(speculative({ drafter, adaptive: false }))
      .generate({ tokens: source }, { maxTokens: 32, temperature: 0 });
    expect(spec.tokens).toEqual(greedy.tokens);
    expect(spec.stats.acceptedDraftTokens).toBeGreaterThan(0);
    expect(spec.stats.forwardPasses).toBeLessThan(greedy.stats.forwardPasses);
    await model.dispose();
  });

  it('refuses a decoder-only draft for an encoder-decoder target', async () => {
    const model = await backend.load(target.folder);
    const decoder = createDecoder({ model }).use(
      speculative({ drafter: draftModel({ model: toyModel({ vocabSize: 32, seed: 1 }) }) }),
    );
    await expect(decoder.generate({ tokens: [1, 5, 9] }, { maxTokens: 4 })).rejects.toThrow(
      InvalidArgumentError,
    );
    await model.dispose();
  });
});
