// EasySpec on llama2xs (TS layer-parallel executor) → stories260K over bench/stories.jsonl, T = 0 and T = 0.8:
// acceptance and tokens per target forward by group size. Off by default:
// DECODEKIT_MEASURE=1 npx vitest run packages/strategies/easyspec/src/measure.int.test.ts
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, speculative } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { readLlama2cCheckpoint } from '@decodekit/models';
import { describe, it } from 'vitest';
import { easySpec } from './index.js';

const prompts = readFileSync(resolve(__dirname, '../../../../bench/stories.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map(line => JSON.parse(line) as { prompt: string; max_tokens: number });

describe.skipIf(!process.env.DECODEKIT_MEASURE)('easyspec measurement', () => {
  it('group-size sweep', async () => {
    const target = await loadModel('karpathy/tinyllamas/stories260K');
    const draft = readLlama2cCheckpoint(
      new Uint8Array(
        readFileSync(
          resolve(process.env.DECODEKIT_MODELS ?? '../shared/models', 'llama2xs/model.bin'),
        ),
      ),
    );
    const lines: string[] = [];
    for (const temperature of [0, 0.8]) {
      for (const groupSize of [1, 2, 3, 5]) {
        const drafter = easySpec({ ...draft, groupSize, draftLength: 4, temperature });
        let proposed = 0;
        let accepted = 0;
        let tokens = 0;
        let forwards = 0;
        let draftMs = 0;
        for (const [seed, p] of prompts.entries()) {
          const { stats } = await createDecoder({ model: target, tokenizer: target.tokenizer })
            .use(speculative({ drafter, adaptive: false }))
            .generate(p.prompt, { maxTokens: p.max_tokens, temperature, seed });
          proposed += stats.draftTokens ?? 0;
          accepted += stats.acceptedDraftTokens ?? 0;
          tokens += stats.generatedTokens;
          forwards += stats.forwardPasses - 1;
          draftMs += stats.draftMs ?? 0;
        }
        lines.push(
          `T=${temperature} group ${groupSize}: acceptance ${((100 * accepted) / proposed).toFixed(1)}%, tokens/target forward ${(tokens / forwards).toFixed(2)}, ` +
            `fuzzy share of draft positions ${((100 * drafter.fuzzyPositions) / (drafter.fuzzyPositions + drafter.exactPositions)).toFixed(1)}%, draft ms/token ${(draftMs / tokens).toFixed(3)}`,
        );
      }
    }
    console.log(lines.join('\n'));
  }, 600_000);
});
