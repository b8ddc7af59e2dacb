import { createDecoder, speculative, type CausalLM } from '@decodekit/core';
import { runStrategyConformance } from '@decodekit/conformance';
import { aded, buildAdedStoreFromTokens, type AdedStore } from './index.js';

/**
 * The default store's recipe at test size: text the model generates itself (sampled from BOS), counted as
 * tri-grams. scripts/build-default-store.ts builds the full one (400 stories).
 */
async function selfGeneratedStore(
  model: CausalLM,
  stories: number,
  maxTokens: number,
): Promise<AdedStore> {
  const decoder = createDecoder({ model });
  const documents: number[][] = [];
  for (let seed = 0; seed < stories; seed++) {
    const prompt = [model.info.bosTokenId ?? seed % model.info.vocabSize];
    const { tokens } = await decoder.generate(
      { tokens: prompt },
      { maxTokens, temperature: 0.8, seed },
    );
    documents.push([...prompt, ...tokens]);
  }
  return buildAdedStoreFromTokens(documents);
}

const stores = new WeakMap<CausalLM, Promise<AdedStore>>();
function storeFor(model: CausalLM, kind: 'toy' | 'real'): Promise<AdedStore> {
  let store = stores.get(model);
  if (!store)
    stores.set(
      model,
      (store =
        kind === 'real' ? selfGeneratedStore(model, 24, 128) : selfGeneratedStore(model, 12, 30)),
    );
  return store;
}

runStrategyConformance({
  name: 'aded (self-generated store, budget 16)',
  strategy: async ({ model, kind }) =>
    speculative({ drafter: aded({ store: await storeFor(model, kind) }), budget: 16 }),
});
