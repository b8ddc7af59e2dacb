import { createDecoder, type LoadedModel } from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { beamSearch } from '@decodekit/strategy-beam-search';
import { contrastiveDecoding } from '@decodekit/strategy-contrastive-decoding';
import { diverseBeamSearch } from '@decodekit/strategy-diverse-beam-search';
import { momentumDecoding } from '@decodekit/strategy-momentum-decoding';
import { it } from 'vitest';
import { distinctN, evaluate, formatEvalTable, selfBleu, type EvalStrategy } from '../src/index.js';

// The READMEs' tables: bench/stories.jsonl (first 10 prompts), 64 tokens, perplexity under stories260K.
it('eval table', async () => {
  const model = await loadReferenceModel();
  const { loadModel } = await import('@decodekit/backend-onnx');
  const amateur = await loadModel('llama2xs');
  const prompts = readPromptFile('stories')
    .slice(0, 10)
    .map(({ id, prompt }) => ({ id, prompt }));
  const decoderStrategy = (
    name: string,
    decoder: ReturnType<typeof createDecoder>,
  ): EvalStrategy => ({
    name,
    generate: (prompt, { maxTokens }) => decoder.generate(prompt, { maxTokens, temperature: 0 }),
  });
  const searchStrategy = (
    name: string,
    search: ReturnType<typeof beamSearch>,
    searchModel: LoadedModel = model,
  ): EvalStrategy => ({
    name,
    async generate(prompt, { maxTokens }) {
      const { hypotheses, promptTokens } = await search.generate({
        model: searchModel,
        prompt,
        maxTokens,
      });
      return { ...hypotheses[0], promptTokens };
    },
  });
  const result = await evaluate({
    strategies: [
      decoderStrategy('greedy', createDecoder({ model })),
      searchStrategy('beam-search (4 beams)', beamSearch({ numBeams: 4 })),
      searchStrategy(
        'diverse-beam-search (4 beams, G=4, λ=0.5)',
        diverseBeamSearch({ numBeams: 4, numGroups: 4, diversityPenalty: 0.5 }),
      ),
      decoderStrategy(
        'momentum-decoding (α=0.2, block-4gram)',
        createDecoder({ model }).use(momentumDecoding()),
      ),
      decoderStrategy(
        'contrastive-decoding (llama2xs amateur, α=0.1, β=0.5)',
        createDecoder({ model: contrastiveDecoding({ expert: model, amateur }) }),
      ),
    ],
    prompts,
    scoringModel: model,
    maxTokens: 64,
  });
  console.log(`\n${formatEvalTable(result)}\n`);

  // Diversity *among* the 4 returned hypotheses of one prompt (what diverse beam search is for).
  const lines = [
    '| search | distinct-1 ↑ | distinct-2 ↑ | distinct-3 ↑ | self-BLEU ↓ | mean log-prob of the best |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const [name, search] of [
    ['beam-search (4 beams)', beamSearch({ numBeams: 4, numReturnSequences: 4 })],
    [
      'diverse-beam-search (G=2, λ=0.5)',
      diverseBeamSearch({
        numBeams: 4,
        numGroups: 2,
        diversityPenalty: 0.5,
        numReturnSequences: 4,
      }),
    ],
    [
      'diverse-beam-search (G=4, λ=0.5)',
      diverseBeamSearch({
        numBeams: 4,
        numGroups: 4,
        diversityPenalty: 0.5,
        numReturnSequences: 4,
      }),
    ],
    [
      'diverse-beam-search (G=4, λ=2)',
      diverseBeamSearch({ numBeams: 4, numGroups: 4, diversityPenalty: 2, numReturnSequences: 4 }),
    ],
  ] as const) {
    const sums = [0, 0, 0, 0, 0];
    for (const { prompt } of prompts) {
      const { hypotheses } = await search.generate({ model, prompt, maxTokens: 64 });
      const texts = hypotheses.map(h => h.text);
      sums[0] += distinctN(texts, 1);
      sums[1] += distinctN(texts, 2);
      sums[2] += distinctN(texts, 3);
      sums[3] += selfBleu(texts);
      sums[4] += hypotheses[0].logProbability;
    }
    const mean = sums.map(sum => sum / prompts.length);
    lines.push(
      `| ${name} | ${mean[0].toFixed(3)} | ${mean[1].toFixed(3)} | ${mean[2].toFixed(3)} | ${mean[3].toFixed(3)} | ${mean[4].toFixed(2)} |`,
    );
  }
  console.log(`\n${lines.join('\n')}\n`);
});
