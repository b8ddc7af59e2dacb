import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDraftCompatibility, speculative, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { runStrategyConformance, toyModel } from '@decodekit/conformance';
import { draftModel } from '@decodekit/strategy-draft-model';
import { afterAll, describe, expect, it } from 'vitest';
import { FASTDRAFT_STORIES260K } from './index.js';

// The committed FastDraft draft, loaded through the model resolver (its folder holds model.bin and a
// llama2c.json naming stories260K's tokenizer, which the resolver finds in the DECODEKIT_MODELS mirror).
let committed: Promise<LoadedModel> | undefined;
const loadCommitted = () => (committed ??= loadModel(fileURLToPath(FASTDRAFT_STORIES260K)));
afterAll(async () => {
  await (await committed)?.dispose();
});

runStrategyConformance({
  name: 'fastdraft (committed draft; random-weights toy draft on the toy LM)',
  async strategy({ model, kind }) {
    const draft =
      kind === 'real'
        ? await loadCommitted()
        : toyModel({ vocabSize: model.info.vocabSize, seed: 4321, copyBias: 2 });
    return speculative({ drafter: draftModel({ model: draft }) });
  },
});

runStrategyConformance({
  name: 'fastdraft (sampled drafts, speculative sampling)',
  async strategy({ model, kind }) {
    const draft =
      kind === 'real'
        ? await loadCommitted()
        : toyModel({ vocabSize: model.info.vocabSize, seed: 77 });
    return speculative({ drafter: draftModel({ model: draft, temperature: 0.8 }) });
  },
  skip: {
    'o-greedy-real':
      'sampled drafts only matter at T > 0; the greedy variant above covers the real model',
    'o-greedy-real-processors': 'as above',
  },
});

/** Parameters of a converted Llama folder, from its config.json (tied classifier). */
function parametersOf(model: LoadedModel): number {
  const config = JSON.parse(readFileSync(join(model.source, 'config.json'), 'utf8')) as Record<
    string,
    number
  >;
  const dim = config.hidden_size;
  const kvDim = (dim * config.num_key_value_heads) / config.num_attention_heads;
  const perLayer = 2 * dim * dim + 2 * kvDim * dim + 3 * config.intermediate_size * dim + 2 * dim;
  return config.vocab_size * dim + config.num_hidden_layers * perLayer + dim;
}

describe('the committed FastDraft draft', () => {
  it('has stories260K’s vocabulary, special tokens and context, and at most half of llama2xs’s parameters', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const llama2xs = await loadModel('llama2xs');
    try {
      const draft = await loadCommitted();
      expect(checkDraftCompatibility(target, draft)).toEqual({ comparedTokens: 512, warnings: [] });
      // llama2xs is compatible too, but its shorter context is reported.
      expect(checkDraftCompatibility(target, llama2xs).warnings).toHaveLength(1);
      const ours = parametersOf(draft);
      expect(ours).toBe(126_384);
      expect(ours).toBeLessThanOrEqual(parametersOf(llama2xs) / 2);
    } finally {
      await target.dispose();
      await llama2xs.dispose();
    }
  });
});
