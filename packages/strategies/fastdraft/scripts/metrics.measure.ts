/**
 * FastDraft's harness metrics on the bench prompts, exactly (recordDraftRun + fastDraftMetrics): acceptance rate,
 * block efficiency and memory-bound speedup of the committed draft before and after alignment and of llama2xs.
 *
 *   npx vitest run --config packages/eval/measure.config.ts packages/strategies/fastdraft/scripts/metrics.measure.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDecoder, speculative, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { draftModel } from '@decodekit/strategy-draft-model';
import { it } from 'vitest';
import {
  FASTDRAFT_STORIES260K,
  fastDraftMetrics,
  recordDraftRun,
  type DraftRunLog,
} from '../src/index.js';

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

it('harness metrics on bench/stories.jsonl', async () => {
  const prompts = readFileSync('bench/stories.jsonl', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(line => JSON.parse(line) as { prompt: string; max_tokens: number });
  const target = await loadModel('karpathy/tinyllamas/stories260K');
  const drafts: [string, LoadedModel][] = [
    ['llama2xs', await loadModel('llama2xs')],
    [
      'fastdraft before alignment',
      await loadModel(join(fileURLToPath(FASTDRAFT_STORIES260K), 'pretrained')),
    ],
    ['fastdraft', await loadModel(fileURLToPath(FASTDRAFT_STORIES260K))],
  ];
  const rows: string[] = [
    '| draft | T | acceptance rate | block efficiency | γ | c | MBSU |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const temperature of [0, 0.8]) {
    for (const [name, draft] of drafts) {
      const log: { generations: DraftRunLog['generations'][number][] } = { generations: [] };
      const decoder = createDecoder({ model: target }).use(
        speculative({ drafter: draftModel({ model: draft, temperature }) }),
      );
      for (const [i, { prompt, max_tokens }] of prompts.entries()) {
        for await (const _ of recordDraftRun(
          decoder.stream(prompt, { maxTokens: max_tokens, temperature, seed: i }),
          log,
        ));
      }
      const m = fastDraftMetrics(log, { draft: parametersOf(draft), target: parametersOf(target) });
      rows.push(
        `| ${name} | ${temperature} | ${m.acceptanceRate.toFixed(3)} | ${m.blockEfficiency.toFixed(2)} | ${m.meanDraftLength.toFixed(2)} | ${m.parameterRatio.toFixed(2)} | ${m.memoryBoundSpeedup.toFixed(2)} |`,
      );
    }
  }
  console.log(rows.join('\n'));
  for (const model of [target, ...drafts.map(([, draft]) => draft)]) await model.dispose();
}, 3_600_000);
