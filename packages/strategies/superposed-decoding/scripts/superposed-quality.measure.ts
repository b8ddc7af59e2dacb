// README numbers: drafts' perplexity under stories260K and cost vs k separate runs.
// Run: npx vitest run --config packages/eval/measure.config.ts packages/strategies/superposed-decoding/scripts/superposed-quality.measure.ts
import { delimiter } from 'node:path';
import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { continuationNll, distinctN } from '@decodekit/eval';
import { it } from 'vitest';
import { loadStoriesEmbeddingsModel } from '../test-support/onnx-embeddings-model.js';
import { ngramModel, superposedDecoding } from '../src/index.js';

const K = 3;
const MAX_TOKENS = 32;

it('superposed decoding: draft quality and cost', async () => {
  const model = await loadReferenceModel();
  const { loadModel } = await import('@decodekit/backend-onnx');
  const llama2xs = await loadModel('llama2xs');
  const embeddings = await loadStoriesEmbeddingsModel(
    (process.env.DECODEKIT_MODELS ?? '').split(delimiter)[0],
    model.info.eosTokenIds,
  );
  // N-gram corpus: 200 stories sampled from llama2xs (T = 1), re-encoded with stories260K's tokenizer.
  const corpus: number[][] = [];
  for (let seed = 1; seed <= 200; seed++) {
    const { text } = await createDecoder({ model: llama2xs }).generate('', {
      maxTokens: 200,
      temperature: 1,
      seed,
    });
    corpus.push(model.tokenizer.encode(text));
  }
  const ngrams = ngramModel(corpus);
  console.log(
    `corpus: ${corpus.length} sequences, ${corpus.reduce((sum, ids) => sum + ids.length, 0)} tokens`,
  );
  const prompts = readPromptFile('stories')
    .slice(0, 10)
    .map(entry => model.tokenizer.encode(entry.prompt));

  type Method = {
    name: string;
    run: (prompt: number[]) => Promise<{ drafts: number[][]; forwards: number }>;
  };
  let seed = 0;
  const methods: Method[] = [
    {
      name: `superposed k=${K}, n-grams (α=0.54)`,
      run: async prompt => {
        const result = await superposedDecoding({ numDrafts: K, ngrams }).generate({
          model: embeddings,
          prompt,
          maxTokens: MAX_TOKENS,
        });
        return {
          drafts: [...result.drafts, ...result.finished].slice(0, K).map(draft => draft.tokens),
          forwards: result.forwardPasses,
        };
      },
    },
    {
      name: `superposed k=${K}, no n-grams`,
      run: async prompt => {
        const result = await superposedDecoding({ numDrafts: K }).generate({
          model: embeddings,
          prompt,
          maxTokens: MAX_TOKENS,
        });
        return {
          drafts: [...result.drafts, ...result.finished].slice(0, K).map(draft => draft.tokens),
          forwards: result.forwardPasses,
        };
      },
    },
    {
      name: `${K} separate runs, same inputs_embeds session (k=1 each)`,
      run: async prompt => {
        const drafts: number[][] = [];
        let forwards = 0;
        for (let i = 0; i < K; i++) {
          const result = await superposedDecoding({ numDrafts: 1 }).generate({
            model: embeddings,
            prompt,
            maxTokens: MAX_TOKENS,
          });
          drafts.push([...result.drafts, ...result.finished][0].tokens);
          forwards += result.forwardPasses;
        }
        return { drafts, forwards };
      },
    },
    {
      name: `${K} nucleus samples (T=1, p=0.9, backend-onnx)`,
      run: async prompt => {
        const drafts: number[][] = [];
        let forwards = 0;
        for (let i = 0; i < K; i++) {
          const result = await createDecoder({ model }).generate(
            { tokens: prompt },
            { maxTokens: MAX_TOKENS, temperature: 1, topP: 0.9, seed: ++seed },
          );
          drafts.push(result.tokens);
          forwards += result.stats.forwardPasses;
        }
        return { drafts, forwards };
      },
    },
  ];
  const lines = [
    `| method | mean draft perplexity ↓ | best-of-${K} perplexity ↓ | distinct-2 within a prompt's drafts ↑ | forwards / prompt | ms / prompt |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const method of methods) {
    let nll = 0;
    let tokens = 0;
    let best = 0;
    let distinct = 0;
    let forwards = 0;
    const start = performance.now();
    const outputs: { prompt: number[]; drafts: number[][] }[] = [];
    for (const prompt of prompts) {
      const result = await method.run(prompt);
      forwards += result.forwards;
      outputs.push({ prompt, drafts: result.drafts });
    }
    const ms = (performance.now() - start) / prompts.length;
    for (const { prompt, drafts } of outputs) {
      const perDraft: number[] = [];
      for (const draft of drafts) {
        const score = await continuationNll(model, prompt, draft);
        nll += score.nll;
        tokens += score.tokens;
        perDraft.push(Math.exp(score.nll / Math.max(1, score.tokens)));
      }
      best += Math.min(...perDraft);
      distinct += distinctN(
        drafts.map(draft => model.tokenizer.decode(draft)),
        2,
      );
    }
    lines.push(
      `| ${method.name} | ${Math.exp(nll / tokens).toFixed(2)} | ${(best / prompts.length).toFixed(2)} | ${(distinct / prompts.length).toFixed(3)} | ${(forwards / prompts.length).toFixed(0)} | ${ms.toFixed(0)} |`,
    );
    console.log(
      method.name,
      JSON.stringify(outputs[0].drafts.map(draft => model.tokenizer.decode(draft))),
    );
  }
  console.log(lines.join('\n'));
  await embeddings.release();
});
