// README numbers: nucleus sampling vs RankGen-style reranking with the LM-likelihood and llama2xs scorers.
// Run: npx vitest run --config packages/eval/measure.config.ts packages/strategies/rankgen/scripts/rankgen-eval.measure.ts
import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { continuationNll, evaluate, formatEvalTable, type EvalStrategy } from '@decodekit/eval';
import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  likelihoodScorer,
  modelScorer,
  rankerWeightsFromJSON,
  rankgen,
  trainedRankerScorer,
  type RankGen,
} from '../src/index.js';

const NUCLEUS = { temperature: 1, topP: 0.9 };

it('rankgen eval table', async () => {
  const model = await loadReferenceModel();
  const { loadModel } = await import('@decodekit/backend-onnx');
  const llama2xs = await loadModel('llama2xs');
  const prompts = readPromptFile('stories')
    .slice(0, 10)
    .map(({ id, prompt }) => ({ id, prompt }));
  let seed = 0;
  const nucleus: EvalStrategy = {
    name: 'nucleus (T=1, p=0.9)',
    generate: (prompt, { maxTokens }) =>
      createDecoder({ model }).generate(prompt, { maxTokens, ...NUCLEUS, seed: ++seed }),
  };
  const forwards: Record<string, number> = {};
  const searchStrategy = (name: string, search: RankGen): EvalStrategy => ({
    name,
    async generate(prompt, { maxTokens }) {
      const result = await search.generate({
        model,
        prompt,
        options: { maxTokens, ...NUCLEUS, seed: ++seed },
      });
      forwards[name] = (forwards[name] ?? 0) + result.search.sampleForwards;
      return result;
    },
  });
  // The ranker trained by scripts/train-ranker.measure.ts (contrastive, on stories260K's own generations).
  const ranker = rankerWeightsFromJSON(
    JSON.parse(
      readFileSync(new URL('../src/__fixtures__/stories260K-ranker.json', import.meta.url), 'utf8'),
    ),
  );
  const result = await evaluate({
    strategies: [
      nucleus,
      searchStrategy(
        'rankgen likelihood (beam 2, 10 samples, every 20)',
        rankgen({ scorer: likelihoodScorer() }),
      ),
      searchStrategy(
        'rankgen trained ranker (beam 2, 10 samples, every 20)',
        rankgen({ scorer: trainedRankerScorer({ weights: ranker }) }),
      ),
      searchStrategy(
        'rerank trained ranker (beam 1, 10 samples, whole)',
        rankgen({
          scorer: trainedRankerScorer({ weights: ranker }),
          beamSize: 1,
          numSamples: 10,
          numTokens: 64,
        }),
      ),
      searchStrategy(
        'rankgen llama2xs (beam 2, 10 samples, every 20)',
        rankgen({ scorer: modelScorer({ model: llama2xs }) }),
      ),
      searchStrategy(
        'rerank llama2xs (beam 1, 10 samples, whole)',
        rankgen({
          scorer: modelScorer({ model: llama2xs }),
          beamSize: 1,
          numSamples: 10,
          numTokens: 64,
        }),
      ),
    ],
    prompts,
    scoringModel: model,
    maxTokens: 64,
  });
  console.log(`\n${formatEvalTable(result)}\n`);
  // Perplexity of the same generations under llama2xs (the second scorer's own objective).
  for (const row of result.summary) {
    let nll = 0;
    let tokens = 0;
    for (const generation of result.generations.filter(entry => entry.strategy === row.strategy)) {
      const score = await continuationNll(
        llama2xs,
        model.tokenizer.encode(generation.prompt),
        generation.tokens,
      );
      nll += score.nll;
      tokens += score.tokens;
    }
    console.log(
      `${row.strategy}: perplexity under llama2xs ${Math.exp(nll / tokens).toFixed(2)}; sample forwards / prompt ${((forwards[row.strategy] ?? row.mean_tokens * prompts.length) / prompts.length).toFixed(0)}`,
    );
  }
});
