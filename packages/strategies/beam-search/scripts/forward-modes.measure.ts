import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { it } from 'vitest';
import { beamSearch } from '../src/index.js';

// Tree vs per-beam forwards on stories260K: 10 bench/stories prompts, 64 tokens, median of 3 runs.
it('forward modes', async () => {
  const model = await loadReferenceModel();
  const prompts = readPromptFile('stories').slice(0, 10);
  const lines = [
    '| beams | mode | ms / prompt | forwards / prompt | rows / forward |',
    '|---|---|---|---|---|',
  ];
  for (const numBeams of [2, 4, 8]) {
    for (const [mode, options] of [
      ['tree', { forwardMode: 'tree' }],
      ['per-beam', { forwardMode: 'per-beam' }],
      ['auto (maxTreeRows 16)', { forwardMode: 'auto', maxTreeRows: 16 }],
      ['auto (maxTreeRows 32)', { forwardMode: 'auto', maxTreeRows: 32 }],
      ['auto (maxTreeRows 64)', { forwardMode: 'auto', maxTreeRows: 64 }],
    ] as const) {
      const times: number[] = [];
      let forwards = 0;
      let rows = 0;
      for (let run = 0; run < 3; run++) {
        const start = performance.now();
        forwards = 0;
        for (const entry of prompts) {
          const result = await createDecoder({ model })
            .use(beamSearch({ numBeams, ...options }))
            .search(entry.prompt, { maxTokens: 64 });
          forwards += result.stats.forwardPasses;
        }
        times.push((performance.now() - start) / prompts.length);
      }
      times.sort((a, b) => a - b);
      void rows;
      lines.push(
        `| ${numBeams} | ${mode} | ${times[1].toFixed(1)} | ${(forwards / prompts.length).toFixed(1)} | |`,
      );
    }
  }
  console.log(lines.join('\n'));
});
